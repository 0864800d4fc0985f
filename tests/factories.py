"""Typed factories for institutions and users, the founding case as a payload, the vocabularies."""

import copy
import io
import json
from pathlib import Path

import factory
from django.conf import settings
from django.core.management import call_command

from registry.models import Institution, Role, User
from registry.vocabularies import forget_vocabularies

FOUNDING_SEED = Path(settings.BASE_DIR) / "seeds" / "cases" / "founding_case.json"


class InstitutionFactory(factory.django.DjangoModelFactory[Institution]):
    class Meta:
        model = Institution
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"hosp-{n}")
    name = factory.LazyAttribute(lambda o: f"Hospital {o.code}")
    country = "FR"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user-{n}")
    role = Role.SUBMITTER
    institution = factory.SubFactory(InstitutionFactory)
    password = factory.django.Password("correct-horse-battery-staple")


def founding_payload(**changes) -> dict:
    """The founding case (breast IDC with a scalp metastasis) as a case payload."""
    payload = copy.deepcopy(json.loads(FOUNDING_SEED.read_text())["cases"][0])
    payload.pop("local_id")
    payload.update(changes)
    return payload


def load_vocabularies() -> None:
    """The real vocabularies again: a transactional test's flush empties their tables."""
    call_command("load_vocabularies", stdout=io.StringIO())
    forget_vocabularies()
