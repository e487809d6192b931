"""What the chat page may post: checked here so bad input answers 400 naming the field."""

from rest_framework import serializers

from channels.providers.sandbox.provider import KINDS
from channels.providers.sandbox.render import MAX_TEXT

CLIENT_ID = r"^[A-Za-z0-9_.:-]{1,64}$"


class SandboxEventIn(serializers.Serializer):
    type = serializers.ChoiceField(choices=sorted(KINDS))
    id = serializers.RegexField(CLIENT_ID, help_text="Unique per conversation; retries reuse it.")
    text = serializers.CharField(
        max_length=MAX_TEXT, allow_blank=True, trim_whitespace=False, required=False
    )
    # Messenger's postback payload limit, the largest of the platforms we mirror.
    payload = serializers.CharField(max_length=1000, allow_blank=True, required=False)
    token = serializers.CharField(max_length=255, allow_blank=True, required=False)
    message_ids = serializers.ListField(
        child=serializers.RegexField(r"^[0-9]{1,20}$"), max_length=100, required=False
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["type"] == "text" and not attrs.get("text", "").strip():
            raise serializers.ValidationError({"text": "A text message needs some text."})
        if attrs["type"] == "button" and not attrs.get("payload"):
            raise serializers.ValidationError({"payload": "A button press needs its payload."})
        if attrs["type"] == "read" and not attrs.get("message_ids"):
            raise serializers.ValidationError({"message_ids": "A read receipt names messages."})
        return attrs
