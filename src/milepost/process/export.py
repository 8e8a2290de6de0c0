"""A process version as a downloadable YAML file, shared by the export page and the API."""

from __future__ import annotations

from django.http import HttpResponse

from milepost.engine.process_export import export_process
from milepost.engine.process_schema import ProcessDef
from milepost.process.models import ProcessVersion

YAML_TYPE = "application/yaml; charset=utf-8"


def export_response(version: ProcessVersion, *, attachment: bool = True) -> HttpResponse:
    """The version as canonical YAML, named ``<key>-v<n>.yaml``: loading it gives the same
    definition (same checksum)."""
    text = export_process(ProcessDef.model_validate(version.definition))
    response = HttpResponse(text, content_type=YAML_TYPE)
    name = f"{version.process.key}-v{version.number}.yaml"
    disposition = "attachment" if attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response
