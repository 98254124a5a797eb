from django import template

from academy_site.guidance import guidance

register = template.Library()


@register.inclusion_tag("_loop_guidance.html")
def loop_guidance():
    """The loop checklist while the loop has not run end to end, then what waits for a person."""
    return guidance()
