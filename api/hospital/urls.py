"""Routes under /hospital/: the institution's cases, the form, withdrawal and CSV import."""

from django.urls import path

from api.hospital import views

urlpatterns = [
    path("", views.case_list, name="hospital-cases"),
    path("cases/new/", views.case_new, name="hospital-case-new"),
    path("cases/<uuid:uuid>/", views.case_edit, name="hospital-case"),
    path("cases/<uuid:uuid>/withdraw/", views.case_withdraw, name="hospital-case-withdraw"),
    path("import/", views.case_import, name="hospital-import"),
    path("cases-template.csv", views.case_template, name="hospital-template"),
]
