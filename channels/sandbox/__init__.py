"""The sandbox messenger's own side: the web chat page and the small API it talks to."""
