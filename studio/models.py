"""Studio strategies: immutable, versioned specs. A change is a new version; the database refuses edits."""

from django.db import models


class StudioVersion(models.Model):
    """One saved version of a Studio strategy: its canonical spec and where it came from. Never updated."""

    name = models.CharField(max_length=48, help_text="lowercase letters, digits and _; the strategy's name")
    version = models.PositiveIntegerField(help_text="1, 2, 3 ... per name")
    spec = models.TextField(help_text="canonical JSON of the validated spec (what is hashed)")
    spec_hash = models.CharField(max_length=64, help_text="sha256 of spec")
    author = models.CharField(max_length=200, help_text="actor who saved it: user:<name> or cli:<os-user>@<host>")
    created_at = models.DateTimeField()
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", help_text="edited from"
    )
    note = models.CharField(max_length=200, blank=True, help_text="what changed, in the author's words")

    class Meta:
        ordering = ["name", "version"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="studio_unique_name_version")]

    def __str__(self) -> str:
        return self.strategy_name

    @property
    def strategy_name(self) -> str:
        """The registered strategy name every command, page and the ladder accept: studio:<name>@<version>."""
        return f"studio:{self.name}@{self.version}"
