"""The analysts' use of the statistics, for curators: the query log, volumes, differencing.

The log is read-only here (only `registry.services.statistics_log` writes it) and
only curators see it: it says who asked what, which is itself sensitive.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path

from registry.admin.read_only import ReadOnly
from registry.models import Role, StatisticsQuery, User
from registry.statistics_use import analyst_volume, differencing_pairs


@admin.register(StatisticsQuery)
class StatisticsQueryAdmin(ReadOnly, admin.ModelAdmin):
    """Every analyst question: who, when, which table; never the answer."""

    list_display = ("asked_at", "user", "endpoint", "parameters", "refused")
    list_filter = ("refused", "endpoint", "day")
    search_fields = ("user__username",)
    date_hierarchy = "asked_at"
    list_select_related = ("user",)
    change_list_template = "admin/registry/statisticsquery/change_list.html"

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_curator

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_urls(self):
        use = path("use/", self.admin_site.admin_view(self.use_view), name="analyst_use")
        return [use, *super().get_urls()]

    def use_view(self, request):
        """Each analyst's volume per day, and their pairs of tables one filter apart."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        analysts = User.objects.filter(
            role=Role.ANALYST, statistics_queries__isnull=False
        ).distinct()
        context = {
            **self.admin_site.each_context(request),
            "title": "Analysts' use of the statistics",
            "opts": self.model._meta,
            "volume": analyst_volume(),
            "pairs": {
                analyst.get_username(): differencing_pairs(user=analyst)
                for analyst in analysts.order_by("username")
            },
        }
        return TemplateResponse(request, "admin/registry/statisticsquery/analyst_use.html", context)
