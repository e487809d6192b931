# ruff: noqa: RUF001 - Russian and Ukrainian texts: their Cyrillic letters are meant.
"""The bot's own words in every supported language: plain dicts, no compile step.

Keep each text short (WhatsApp button titles <= 20 characters) and say how to leave in every
message that starts or restarts a subscription.
"""

LANGUAGES = ("en", "ru", "uk")
DEFAULT = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "still_subscribed": (
            "You're subscribed: order updates, our weekly menu and surveys come here.\n"
            "Press Settings to choose what you get. To stop, type STOP or press Unsubscribe."
        ),
        "welcome": (
            "You're subscribed! Here you'll get updates on your order {order}, our weekly menu "
            "and short surveys about what you ordered.\n"
            "Press Settings to choose what you get. To stop, type STOP or press Unsubscribe."
        ),
        "already": (
            "You're already subscribed - we'll keep you posted on order {order}.\n"
            "Press Settings to choose what you get. To stop, type STOP or press Unsubscribe."
        ),
        "welcome_back": (
            "Welcome back! You'll get order updates, our weekly menu and surveys here again.\n"
            "To stop, type STOP or press Unsubscribe."
        ),
        "invalid_link": (
            "Sorry, this subscribe link doesn't work - it may be incomplete or changed.\n"
            "Open your order page at {shop_url} again and press the messenger button there."
        ),
        "expired_link": (
            "Sorry, this subscribe link has expired.\n"
            "Open your order page at {shop_url} again and press the messenger button there "
            "for a fresh one."
        ),
        "refused": (
            "This link belongs to an order that is already connected to another chat here, "
            "so we haven't connected it to this one. If it's your order, use the chat you "
            "subscribed from first, or contact the shop at {shop_url}."
        ),
        "moved": (
            "You've subscribed from another chat here since, so this chat stays unsubscribed "
            "and your messages go there. To move them back, contact the shop at {shop_url}."
        ),
        "how_to_subscribe": (
            "Hi! To get updates on your orders here, open your order page at {shop_url} "
            "and press the messenger button there."
        ),
        "come_back": (
            "You're not subscribed at the moment. Press Subscribe again (or type START) "
            "to get order updates, our weekly menu and surveys here."
        ),
        "stopped": (
            "You're unsubscribed - we won't send you messages here any more.\n"
            "Changed your mind? Press Subscribe again or type START."
        ),
        "not_subscribed": "You aren't subscribed here, so there is nothing to stop.",
        "topics": (
            "Choose what you'd like to get (order updates always come while you're "
            "subscribed):\n{topics}\nTap a topic to switch it on or off."
        ),
        "topics_saved": "Saved. You'll get: {topics}.",
        "topics_none": "Saved. You'll only get updates on your orders.",
        "on": "on",
        "off": "off",
        "topic.menu": "Weekly menu",
        "topic.surveys": "Surveys",
        "topic.promotions": "Promotions",
        "button.settings": "Settings",
        "button.unsubscribe": "Unsubscribe",
        "button.subscribe_again": "Subscribe again",
        "button.done": "Done",
        "button.shop": "Open the shop",
    },
    "ru": {
        "still_subscribed": (
            "Вы подписаны: сюда приходят новости о заказах, меню недели и опросы.\n"
            "Нажмите «Настройки», чтобы выбрать темы. Чтобы отписаться, напишите СТОП "
            "или нажмите «Отписаться»."
        ),
        "welcome": (
            "Вы подписаны! Здесь будут новости о заказе {order}, меню недели и короткие "
            "опросы о заказанном.\n"
            "Нажмите «Настройки», чтобы выбрать темы. Чтобы отписаться, напишите СТОП "
            "или нажмите «Отписаться»."
        ),
        "already": (
            "Вы уже подписаны - сообщим, как дела с заказом {order}.\n"
            "Нажмите «Настройки», чтобы выбрать темы. Чтобы отписаться, напишите СТОП "
            "или нажмите «Отписаться»."
        ),
        "welcome_back": (
            "С возвращением! Снова пришлём сюда новости о заказах, меню недели и опросы.\n"
            "Чтобы отписаться, напишите СТОП или нажмите «Отписаться»."
        ),
        "invalid_link": (
            "Извините, эта ссылка для подписки не работает - возможно, она неполная "
            "или изменена.\n"
            "Откройте страницу заказа на {shop_url} ещё раз и нажмите там кнопку мессенджера."
        ),
        "expired_link": (
            "Извините, срок действия этой ссылки истёк.\n"
            "Откройте страницу заказа на {shop_url} ещё раз и нажмите там кнопку мессенджера, "
            "чтобы получить новую."
        ),
        "refused": (
            "Эта ссылка относится к заказу, который уже подключён к другому чату, поэтому "
            "к этому чату мы её не подключили. Если это ваш заказ, пользуйтесь чатом, "
            "из которого подписались первым, или напишите магазину: {shop_url}."
        ),
        "moved": (
            "С тех пор вы подписались из другого чата, поэтому этот чат остаётся без подписки, "
            "а сообщения приходят туда. Чтобы вернуть их сюда, напишите магазину: {shop_url}."
        ),
        "how_to_subscribe": (
            "Здравствуйте! Чтобы получать здесь новости о заказах, откройте страницу заказа "
            "на {shop_url} и нажмите там кнопку мессенджера."
        ),
        "come_back": (
            "Сейчас вы не подписаны. Нажмите «Подписаться снова» (или напишите СТАРТ), "
            "чтобы получать здесь новости о заказах, меню недели и опросы."
        ),
        "stopped": (
            "Вы отписались - больше не будем писать вам здесь.\n"
            "Передумаете - нажмите «Подписаться снова» или напишите СТАРТ."
        ),
        "not_subscribed": "Вы здесь не подписаны, отписываться не от чего.",
        "topics": (
            "Выберите, что присылать (новости о заказах приходят всегда, пока вы "
            "подписаны):\n{topics}\nНажмите на тему, чтобы включить или выключить её."
        ),
        "topics_saved": "Сохранено. Будем присылать: {topics}.",
        "topics_none": "Сохранено. Будем присылать только новости о заказах.",
        "on": "вкл.",
        "off": "выкл.",
        "topic.menu": "Меню недели",
        "topic.surveys": "Опросы",
        "topic.promotions": "Акции",
        "button.settings": "Настройки",
        "button.unsubscribe": "Отписаться",
        "button.subscribe_again": "Подписаться снова",
        "button.done": "Готово",
        "button.shop": "Открыть магазин",
    },
    "uk": {
        "still_subscribed": (
            "Ви підписані: сюди надходять новини про замовлення, меню тижня та опитування.\n"
            "Натисніть «Налаштування», щоб обрати теми. Щоб відписатися, напишіть СТОП "
            "або натисніть «Відписатися»."
        ),
        "welcome": (
            "Ви підписані! Тут будуть новини про замовлення {order}, меню тижня та короткі "
            "опитування про замовлене.\n"
            "Натисніть «Налаштування», щоб обрати теми. Щоб відписатися, напишіть СТОП "
            "або натисніть «Відписатися»."
        ),
        "already": (
            "Ви вже підписані - повідомимо, як справи із замовленням {order}.\n"
            "Натисніть «Налаштування», щоб обрати теми. Щоб відписатися, напишіть СТОП "
            "або натисніть «Відписатися»."
        ),
        "welcome_back": (
            "З поверненням! Знову надсилатимемо сюди новини про замовлення, меню тижня "
            "та опитування.\n"
            "Щоб відписатися, напишіть СТОП або натисніть «Відписатися»."
        ),
        "invalid_link": (
            "Вибачте, це посилання для підписки не працює - можливо, воно неповне "
            "або змінене.\n"
            "Відкрийте сторінку замовлення на {shop_url} ще раз і натисніть там кнопку "
            "месенджера."
        ),
        "expired_link": (
            "Вибачте, термін дії цього посилання минув.\n"
            "Відкрийте сторінку замовлення на {shop_url} ще раз і натисніть там кнопку "
            "месенджера, щоб отримати нове."
        ),
        "refused": (
            "Це посилання належить до замовлення, яке вже підключене до іншого чату, тому "
            "до цього чату ми його не підключили. Якщо це ваше замовлення, користуйтеся "
            "чатом, з якого підписалися першим, або напишіть магазину: {shop_url}."
        ),
        "moved": (
            "Відтоді ви підписалися з іншого чату, тому цей чат лишається без підписки, "
            "а повідомлення надходять туди. Щоб повернути їх сюди, напишіть магазину: {shop_url}."
        ),
        "how_to_subscribe": (
            "Вітаємо! Щоб отримувати тут новини про замовлення, відкрийте сторінку "
            "замовлення на {shop_url} і натисніть там кнопку месенджера."
        ),
        "come_back": (
            "Зараз ви не підписані. Натисніть «Підписатися знову» (або напишіть СТАРТ), "
            "щоб отримувати тут новини про замовлення, меню тижня та опитування."
        ),
        "stopped": (
            "Ви відписалися - більше не писатимемо вам тут.\n"
            "Передумаєте - натисніть «Підписатися знову» або напишіть СТАРТ."
        ),
        "not_subscribed": "Ви тут не підписані, тож відписуватися нема від чого.",
        "topics": (
            "Оберіть, що надсилати (новини про замовлення надходять завжди, поки ви "
            "підписані):\n{topics}\nНатисніть на тему, щоб увімкнути чи вимкнути її."
        ),
        "topics_saved": "Збережено. Надсилатимемо: {topics}.",
        "topics_none": "Збережено. Надсилатимемо лише новини про замовлення.",
        "on": "увімк.",
        "off": "вимк.",
        "topic.menu": "Меню тижня",
        "topic.surveys": "Опитування",
        "topic.promotions": "Акції",
        "button.settings": "Налаштування",
        "button.unsubscribe": "Відписатися",
        "button.subscribe_again": "Підписатися знову",
        "button.done": "Готово",
        "button.shop": "Відкрити магазин",
    },
}


def language(*candidates: str) -> str:
    """The first supported language among `candidates` ("uk-UA", "ru_RU" count), else en."""
    for candidate in candidates:
        code = (candidate or "").replace("_", "-").split("-")[0].strip().lower()
        if code in TEXTS:
            return code
    return DEFAULT


def text(key: str, locale: str, **kwargs: object) -> str:
    """The text `key` in `locale` (falling back to English), formatted with `kwargs`."""
    texts = TEXTS[language(locale)]
    template = texts.get(key, TEXTS[DEFAULT][key])
    return template.format(**kwargs) if kwargs else template
