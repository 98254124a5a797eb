"""Login throttling: django-axes locks out by user name and, separately, by client address."""

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """Axes' lockout check for sign-ins made over HTTP.

    Axes refuses authenticate() calls that carry no request; those come only from code
    running on the server itself (management commands, the shell, the test client's
    login()), where there is no client to throttle, so they pass through to the next backend.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
