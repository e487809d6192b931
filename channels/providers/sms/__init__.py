"""SMS as a channel: one interface over two gateways (Twilio, SMS.ru), segment counting, text
rendering, delivery reports and STOP."""

from channels.providers.sms.provider import PROVIDER

__all__ = ["PROVIDER"]
