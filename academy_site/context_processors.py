from django.conf import settings


def academy(request):
    return {"academy_mode": settings.ACADEMY_MODE}
