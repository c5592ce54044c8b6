"""Generates a Python client from the live /openapi.json with
openapi-python-client, then uses only that client to create a template,
submit a document and read its results.

Usage: generated_client.py BASE_URL API_KEY PDF_PATH EXPECTED_INVOICE_NUMBER
"""

import base64
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

base, key, pdf_path, expected_number = sys.argv[1:5]
work = pathlib.Path(tempfile.mkdtemp())
spec = work / "openapi.json"
spec.write_bytes(urllib.request.urlopen(base + "/openapi.json").read())
generator = pathlib.Path(sys.executable).parent / "openapi-python-client"
subprocess.run(
    [str(generator), "generate", "--path", str(spec), "--meta", "none",
     "--output-path", str(work / "docpush_client")],
    check=True,
)
sys.path.insert(0, str(work))

from docpush_client import AuthenticatedClient  # noqa: E402
from docpush_client.api.jobs import job_results, job_status, process_job  # noqa: E402
from docpush_client.api.templates import create_template  # noqa: E402
from docpush_client.models import (  # noqa: E402
    JobResults,
    ProcessJobJson,
    ResultsRequest,
    TemplateInput,
)

client = AuthenticatedClient(base_url=base, token=key, prefix="", auth_header_name="x-auth")

template = create_template.sync(client=client, body=TemplateInput.from_dict({
    "name": "Generated client",
    "fields": [
        {"name": "invoice_number", "type": "string",
         "regex": "Invoice\\s*(?:No|#)\\.?:?\\s*([A-Z0-9-]+)"},
        {"name": "total", "type": "number", "anchor": "Total due", "direction": "below"},
    ],
}))
assert template is not None and template.id, template
print("template", template.id)

document = base64.b64encode(pathlib.Path(pdf_path).read_bytes()).decode()
accepted = process_job.sync(client=client, body=ProcessJobJson(
    template_id=template.id, actual_image=document, file_name="invoice.pdf"))
assert accepted is not None and accepted.job_id, accepted
print("job", accepted.job_id)

deadline = time.monotonic() + 120
while True:
    status = job_status.sync(client=client, job_id=accepted.job_id)
    if status.status in ("SUCCESS", "FAILED"):
        break
    assert time.monotonic() < deadline, f"job still {status.status}"
    time.sleep(0.2)
assert status.status == "SUCCESS", status

results = job_results.sync(client=client, body=ResultsRequest(job_id=accepted.job_id))
assert isinstance(results, JobResults), results
values = results.results[0].result.to_dict()
print("result", values)
assert values["invoice_number"] == expected_number, values
assert isinstance(values["total"], float), values
