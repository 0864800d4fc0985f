"""The hospital pages: the institution's cases, the case form, withdrawal and CSV import.

Who: a signed-in submitter account whose institution is active, as for the API;
a case of another institution is a 404, as in the API. What: each write is the
API's — its serializer reads the form's JSON, its services write — so messages,
hard edits and soft-edit flags are the same words a hospital system receives.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework import exceptions

from api.hospital.case_csv import COLUMNS, read_cases, template_text
from api.hospital.case_form import ROWS, case_form, case_json_from
from api.hospital.imports import import_cases
from api.problems import field_errors
from api.serializers.cases import CaseReplaceSerializer, CaseSerializer
from registry import access
from registry.models import Case, Role
from registry.selectors import with_case_details
from registry.services.cases import StaleVersion, case_submit, case_update
from registry.services.withdrawals import case_request_withdrawal

HOSPITAL_ONLY = (
    "These pages are for hospital data managers (submitter accounts of an active "
    "institution); analysts use /dashboard/, curators the admin."
)


def hospital_member(view):
    """Signed-in submitters of an active institution; others are sent to sign in, or refused."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (
            user.role == Role.SUBMITTER
            and user.institution is not None
            and user.institution.is_active
        ):
            raise PermissionDenied(HOSPITAL_ONLY)
        return view(request, *args, **kwargs)

    return checked


def _own_case(request, uuid) -> Case:
    return get_object_or_404(access.visible_cases(request.user), uuid=uuid)


# ---------------------------------------------------------------- the list


@hospital_member
def case_list(request):
    """The institution's cases, newest change first, with their review status and flags."""
    cases = (
        access.visible_cases(request.user)
        .select_related("primary_site", "withdrawal")
        .prefetch_related("flags")
        .order_by("-updated_at")[:500]
    )
    return render(request, "hospital/cases.html", {"cases": cases})


# ---------------------------------------------------------------- the form


@hospital_member
@require_http_methods(["GET", "POST"])
def case_new(request):
    """A new case: one metastasis row to start with."""
    if request.method == "GET":
        return _form_page(request, None, {"metastases": [{}]}, [])
    return _posted(request, None)


@hospital_member
@require_http_methods(["GET", "POST"])
def case_edit(request, uuid):
    """Correct a case: the form holds it as the API answers it, at its version."""
    case = _own_case(request, uuid)
    if request.method == "GET":
        stored = with_case_details(Case.objects.filter(pk=case.pk)).get()
        return _form_page(request, stored, CaseSerializer(stored).data, [])
    return _posted(request, case)


def _posted(request, case: Case | None):
    post = request.POST
    removed = post.get("remove", "")
    data = case_json_from(post, removed=removed)
    if case is not None:
        data["local_id"] = case.local_id
    added = post.get("add")
    if added in ROWS or removed:
        # Adding or removing a row writes nothing: the same form again, one row more or less.
        return _form_page(request, case, data, [], extra={added: 1} if added in ROWS else {})
    write, errors = _write(request, case, data, post.get("version", ""))
    if errors:
        return _form_page(request, case, data, errors, status=400)
    verb = "Stored" if case is None else "Saved"
    unchanged = case is not None and write.details is None
    messages.success(
        request,
        f"Case {write.case.local_id}: nothing changed (version {write.case.version})."
        if unchanged
        else f"{verb} case {write.case.local_id} (version {write.case.version}).",
    )
    for flag in write.case.flags.all() if write.details is None else write.details.flags:
        if flag.is_open:
            messages.warning(
                request,
                f"Flagged for a curator ({flag.code}, {flag.field}): {flag.message} The case is "
                "stored and is counted once a curator confirms it.",
            )
    return redirect("hospital-case", uuid=write.case.uuid)


def _write(request, case, data, version):
    """The API's steps for a POST (new) or a PUT (correction): serializer, then service."""
    reader = CaseSerializer(data=data) if case is None else CaseReplaceSerializer(data=data)
    if not reader.is_valid():
        return None, field_errors(reader.errors)
    try:
        if case is None:
            institution = access.institution_for_submission(request.user, None)
            write = case_submit(
                institution=institution,
                local_id=reader.validated_data["local_id"],
                payload=reader.payload(),
                actor=request.user,
            )
        else:
            write = case_update(
                case=case,
                payload=reader.payload(),
                actor=request.user,
                expected_version=int(version) if version.isdigit() else None,
            )
    except ValidationError as invalid:
        detail = (
            invalid.message_dict
            if hasattr(invalid, "error_dict")
            else {"non_field_errors": invalid.messages}
        )
        return None, field_errors(exceptions.ValidationError(detail).detail)
    except StaleVersion as stale:
        message = (
            f"Someone saved this case since you opened it (it is now at version "
            f"{stale.current_version}). Open it again and reapply your change."
        )
        return None, [{"field": None, "message": message}]
    return write, []


def _form_page(request, case, data, errors, *, extra=None, status=200):
    form = case_form(data, errors, extra or {})
    context = {
        "case": case,
        "form": form,
        "errors": errors,
        "local_id": data.get("local_id", ""),
        "local_id_errors": [e["message"] for e in errors if e["field"] == "local_id"],
        "version": case.version if case is not None else "",
        "withdrawal": getattr(case, "withdrawal", None) if case is not None else None,
        "flags": list(case.flags.all()) if case is not None else [],
    }
    if context["local_id_errors"]:
        form.general_errors = [m for m in form.general_errors if not m.startswith("local_id: ")]
    return render(request, "hospital/case_form.html", context, status=status)


# ---------------------------------------------------------------- withdrawal


@hospital_member
@require_POST
def case_withdraw(request, uuid):
    """Ask curators to withdraw the case (they delete it); the reason is required."""
    case = _own_case(request, uuid)
    try:
        case_request_withdrawal(
            case=case, reason=request.POST.get("reason", ""), actor=request.user
        )
    except ValidationError as invalid:
        for message in invalid.messages:
            messages.error(request, f"Not withdrawn: {message}")
    else:
        messages.success(
            request,
            f"Withdrawal of case {case.local_id} requested: a curator will delete it. Until "
            "then it stays in the registry as it is.",
        )
    return redirect("hospital-case", uuid=case.uuid)


# ---------------------------------------------------------------- CSV


@hospital_member
def case_template(request):
    """The CSV template: every column, and the founding case as an example."""
    response = HttpResponse(template_text(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="hospital-cases-template.csv"'
    return response


@hospital_member
@require_http_methods(["GET", "POST"])
def case_import(request):
    """Upload a CSV: each case goes through the batch path; a result per case, errors by line."""
    context = {"columns": COLUMNS}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["refusal"] = "Choose a CSV file to import."
            return render(request, "hospital/import.html", context, status=400)
        found = read_cases(upload.read())
        report = import_cases(request.user, found)
        context.update(report=report, file_name=upload.name)
        status = 400 if report.refusal else 200
        return render(request, "hospital/import.html", context, status=status)
    return render(request, "hospital/import.html", context)
