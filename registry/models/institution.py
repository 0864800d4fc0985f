"""Submitting institutions and the people and systems that act for them."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models

from registry.models.choices import Role


class Institution(models.Model):
    """A hospital (or the registry itself, for literature cases) that submits cases."""

    code = models.SlugField(max_length=32, unique=True, help_text="Short stable key, e.g. HOSP-A")
    name = models.CharField(max_length=200)
    country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2, e.g. FR; empty for the literature"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(country="") | models.Q(country__regex=r"^[A-Z]{2}$"),
                name="institution_country_iso2",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class RegistryUserManager(UserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # A superuser curates; the default role (submitter) would need an institution.
        extra_fields.setdefault("role", Role.CURATOR)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A registry account: a hospital system, an analyst or a curator."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.SUBMITTER)
    institution = models.ForeignKey(
        Institution,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )

    objects = RegistryUserManager()

    class Meta:
        constraints = [
            # A submitter without an institution could not be scoped to its own rows.
            models.CheckConstraint(
                condition=~models.Q(role=Role.SUBMITTER) | models.Q(institution__isnull=False),
                name="submitter_has_institution",
            )
        ]

    def has_perm(self, perm, obj=None) -> bool:
        # Curators manage everything of the registry in the admin, with no group set-up.
        if (
            self.is_active
            and self.is_staff
            and self.role == Role.CURATOR
            and perm.startswith("registry.")
        ):
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label) -> bool:
        if (
            self.is_active
            and self.is_staff
            and self.role == Role.CURATOR
            and app_label == "registry"
        ):
            return True
        return super().has_module_perms(app_label)

    @property
    def is_curator(self) -> bool:
        return self.role == Role.CURATOR or self.is_superuser
