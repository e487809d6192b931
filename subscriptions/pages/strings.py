# ruff: noqa: RUF001 - Russian and Ukrainian text is Cyrillic on purpose, not look-alike Latin
"""The subscribe page's words in each language it speaks.

A dict rather than gettext catalogues: .mo files would need a compile step on every fresh
machine, and the page has a dozen strings. Anything not listed here falls back to English.
"""

from django.http import HttpRequest
from django.utils.translation import get_language_from_request

DEFAULT = "en"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Get order updates in your messenger",
        "lead": "Choose a messenger and press Start: we will tell you how order {order} is "
        "going, and send our new menu now and then.",
        "lead_no_order": "Choose a messenger and press Start: our new menu and offers, now "
        "and then, and news of your orders.",
        "open": "Open {platform}",
        "scan": "Or scan with your phone",
        "none": "No messengers are available right now. Please try again later.",
        "leave": "Unsubscribe any time: send STOP in the chat.",
        "invalid_title": "This link does not work",
        "expired_title": "This link has expired",
        "invalid_text": "Ask the shop for a fresh link, or subscribe with your next order.",
        "shop": "Back to the shop",
    },
    "ru": {
        "title": "Новости о заказе — в вашем мессенджере",
        "lead": "Выберите мессенджер и нажмите «Старт»: мы расскажем, как идёт заказ {order}, "
        "и иногда будем присылать новое меню.",
        "lead_no_order": "Выберите мессенджер и нажмите «Старт»: новое меню и предложения, "
        "иногда, и новости о ваших заказах.",
        "open": "Открыть {platform}",
        "scan": "Или наведите камеру телефона",
        "none": "Сейчас нет доступных мессенджеров. Попробуйте позже.",
        "leave": "Отписаться можно в любой момент: отправьте STOP в чат.",
        "invalid_title": "Эта ссылка не работает",
        "expired_title": "Срок действия ссылки истёк",
        "invalid_text": "Попросите в магазине новую ссылку или подпишитесь при следующем заказе.",
        "shop": "Вернуться в магазин",
    },
    "uk": {
        "title": "Новини про замовлення — у вашому месенджері",
        "lead": "Оберіть месенджер і натисніть «Старт»: ми розповімо, як просувається "
        "замовлення {order}, і час від часу надсилатимемо нове меню.",
        "lead_no_order": "Оберіть месенджер і натисніть «Старт»: нове меню та пропозиції, "
        "час від часу, і новини про ваші замовлення.",
        "open": "Відкрити {platform}",
        "scan": "Або наведіть камеру телефона",
        "none": "Зараз немає доступних месенджерів. Спробуйте пізніше.",
        "leave": "Відписатися можна будь-коли: надішліть STOP у чат.",
        "invalid_title": "Це посилання не працює",
        "expired_title": "Термін дії посилання минув",
        "invalid_text": "Попросіть у магазині нове посилання або підпишіться з наступним "
        "замовленням.",
        "shop": "Повернутися до магазину",
    },
}


def supported(code: str | None) -> str | None:
    """The supported language of a code such as 'ru', 'uk-UA' or 'pt_BR', or None."""
    language = (code or "")[:2].lower()
    return language if language in STRINGS else None


def page_language(request: HttpRequest, *, customer_locale: str | None = None) -> str:
    """?lang=, then the customer's locale, then Accept-Language, then English."""
    return (
        supported(request.GET.get("lang"))
        or supported(customer_locale)
        or supported(get_language_from_request(request))
        or DEFAULT
    )
