"""OperationOutcome: FHIR's error (and result) format, one issue per problem.

Every issue about the content names the element it concerns as a FHIRPath such
as ``Bundle.entry[2].resource.bodySite[0].coding[0]``, so an integrator can fix
the Bundle without guessing.
"""

from dataclasses import dataclass

from api.fhir.codes import CS_WRITE_OUTCOME

# FHIR issue types used here (http://hl7.org/fhir/issue-type).
STRUCTURE = "structure"  # not JSON
INVALID = "invalid"  # not valid FHIR R4
REQUIRED = "required"  # something the registry needs is missing
CODE_INVALID = "code-invalid"  # a code the registry cannot map
NOT_SUPPORTED = "not-supported"  # valid FHIR the registry does not take
BUSINESS_RULE = "business-rule"  # a validation edit of the registry
INFORMATIONAL = "informational"
TOO_COSTLY = "too-costly"  # more than the registry reads in one request


@dataclass(frozen=True)
class Issue:
    code: str
    diagnostics: str
    expression: str | None = None
    severity: str = "error"

    def as_fhir(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = [self.expression]
        return issue


def note(diagnostics: str, expression: str | None = None) -> Issue:
    """Something the import left out or assumed; reported with a successful write."""
    return Issue(INFORMATIONAL, diagnostics, expression, severity="information")


class FhirProblem(Exception):
    """The request is refused; the answer is an OperationOutcome with this status."""

    def __init__(self, status: int, issues: list[Issue]):
        super().__init__("; ".join(issue.diagnostics for issue in issues))
        self.status = status
        self.issues = issues


# An OperationOutcome lists at most this many issues, then one saying how many were left out
# (a 9 MB Bundle of unread resources was answered with 28,002 issues).
MAX_LISTED_ISSUES = 100


def capped(issues: list[Issue]) -> list[Issue]:
    if len(issues) <= MAX_LISTED_ISSUES:
        return issues
    left_out = len(issues) - MAX_LISTED_ISSUES
    severity = issues[MAX_LISTED_ISSUES].severity
    return [
        *issues[:MAX_LISTED_ISSUES],
        Issue(
            issues[MAX_LISTED_ISSUES].code, f"{left_out} more issues not listed.", None, severity
        ),
    ]


def operation_outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [i.as_fhir() for i in capped(issues)]}


def write_outcome(outcome: str, summary: str, notes: list[Issue]) -> dict:
    """The answer to a stored import: what happened to the case, then the notes."""
    result = {
        "severity": "information",
        "code": INFORMATIONAL,
        "details": {
            "coding": [{"system": CS_WRITE_OUTCOME, "code": outcome}],
            "text": outcome,
        },
        "diagnostics": summary,
    }
    return {
        "resourceType": "OperationOutcome",
        "issue": [result, *(issue.as_fhir() for issue in capped(notes))],
    }
