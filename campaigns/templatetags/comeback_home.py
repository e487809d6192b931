from django import template

from campaigns.home import home_figures

register = template.Library()


@register.simple_tag
def comeback_home() -> dict:
    """The marketer's home figures (campaigns/home.py)."""
    return home_figures()
