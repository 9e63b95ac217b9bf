"""A self-contained HTML report a reviewer opens in a browser and signs off: no external asset, no network.

Summary per severity and per framework (failed and waived), a findings table filtered in the
page (text, minimum severity, status, framework) by a few lines of inline JavaScript, each
finding's evidence, rationale, remediation, controls and waiver (one row or all of them
expanded), the waivers and what they did, the rules that ran, and the inputs with their
SHA-256. Printed or saved as PDF, every finding shows everything it holds. A
Content-Security-Policy forbids the page from loading anything at all.
"""

from __future__ import annotations

from html import escape

from ailab.policy.engine import SEVERITIES_DESCENDING, Finding, Report, Status
from ailab.policy.model import Rule, Severity
from ailab.policy.report.common import (
    TOOL_NAME,
    TOOL_VERSION,
    finding_location,
    framework_name,
    value_text,
    verdict,
)

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{padding:20px 28px;color:#fff;background:#1f3b5b}header.fail{background:#8b1e2d}header.pass{background:#1d6b3a}
header h1{margin:0 0 6px;font-size:22px}header p{margin:2px 0;opacity:.9}
main{padding:16px 28px 40px}section{margin:0 0 26px}h2{font-size:17px;margin:18px 0 8px}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002}th,td{padding:5px 9px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
td.id code{white-space:nowrap;word-break:normal}
.sev{display:inline-block;min-width:58px;padding:1px 6px;border-radius:3px;color:#fff;font-size:12px;text-align:center}
.critical{background:#7a0019}.high{background:#c0392b}.medium{background:#d68910}.low{background:#5d6d7e}
.st-waived{color:#5d6d7e}.st-error{color:#7a0019;font-weight:600}.blocking{font-weight:600}
#findings table{width:100%}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
#waivers table{width:100%}#waivers td:nth-child(3){min-width:12em}#waivers td:nth-child(4){min-width:16em}#waivers td:nth-child(5){overflow-wrap:anywhere}#waivers td:nth-child(6){white-space:nowrap}#waivers td code{word-break:normal;overflow-wrap:anywhere}
details summary{cursor:pointer;color:#1f3b5b}.more{margin-top:4px}.js .more{display:none}.js tr.open .more{display:block}
button.toggle{font:inherit;font-size:12px;padding:0 6px;margin-left:6px;cursor:pointer;background:#eef1f4;border:1px solid #c9ced4;border-radius:3px}
.actions button{font:inherit;padding:3px 10px;cursor:pointer}td.w{color:#5d6d7e}.inputs td{font-size:12px}.filters{display:flex;gap:12px;flex-wrap:wrap;align-items:center;margin:6px 0 10px}
.filters input{padding:4px 8px;min-width:260px}.muted{color:#5d6d7e}ul.ev{margin:4px 0;padding-left:18px}
@media print{
  body{background:#fff;font-size:11px}header{color:#000;background:#fff!important;border-bottom:3px solid #000;padding:8px 0}
  main{padding:8px 0}.filters input,.filters select,.actions,button.toggle{display:none}
  .js .more,.more{display:block!important}details>*{display:block}table{box-shadow:none}#findings table{width:100%}#findings td:last-child{width:48%}
  thead{display:table-header-group}.more p,.more ul{margin:2px 0}.more ul{padding-left:14px}td{padding:3px 6px}.sev{border:1px solid #000;color:#000;background:#fff!important}
}
"""

_SCRIPT = """
(function(){
  document.documentElement.className+=' js';
  function rowsOf(){return Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr'));}
  document.getElementById('findings').addEventListener('click',function(e){
    var b=e.target.closest('button.toggle');if(!b){return;}
    var r=b.closest('tr'),open=r.classList.toggle('open');b.textContent=open?'less':'more';b.setAttribute('aria-expanded',open);
  });
  function all(open){rowsOf().forEach(function(r){r.classList.toggle('open',open);var b=r.querySelector('button.toggle');
    if(b){b.textContent=open?'less':'more';b.setAttribute('aria-expanded',open);}});}
  document.getElementById('expand-all').addEventListener('click',function(){all(true);});
  document.getElementById('collapse-all').addEventListener('click',function(){all(false);});
  window.addEventListener('beforeprint',function(){document.querySelectorAll('details').forEach(function(d){d.open=true;});});
})();
(function(){
  var rank={low:1,medium:2,high:3,critical:4};
  var rows=Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr'));
  var q=document.getElementById('f-text'),sev=document.getElementById('f-sev'),
      st=document.getElementById('f-status'),fw=document.getElementById('f-fw'),count=document.getElementById('f-count');
  function apply(){
    var text=q.value.trim().toLowerCase(),min=rank[sev.value]||0,status=st.value,framework=fw.value,shown=0;
    rows.forEach(function(r){
      var ok=(!text||r.getAttribute('data-text').indexOf(text)>=0)&&rank[r.getAttribute('data-severity')]>=min&&
        (!status||r.getAttribute('data-status')===status)&&
        (!framework||(' '+r.getAttribute('data-frameworks')+' ').indexOf(' '+framework+' ')>=0);
      r.hidden=!ok;if(ok){shown++;}
    });
    count.textContent=shown+' of '+rows.length+' findings shown';
  }
  [q,sev,st,fw].forEach(function(e){e.addEventListener('input',apply);e.addEventListener('change',apply);});
  apply();
})();
"""


def render(report: Report, fail_on: Severity) -> str:
    passed, summary = verdict(report, fail_on)
    sources = ", ".join(escape(source) for source in report.sources) or "the input"
    body = [
        f'<header class="{"pass" if passed else "fail"}"><h1>ailab policy check {escape(summary)}</h1>',
        f"<p>{report.record_count} resources from {sources}; {len(report.rules)} rules; fail on {fail_on.value} and above.</p>",
        f"<p>Generated {report.generated_at.isoformat()} by {TOOL_NAME} {TOOL_VERSION}.</p></header><main>",
        _summary(report),
        _notes(report),
        _findings(report, fail_on),
        _waivers(report),
        _rules(report.rules),
        _inputs(report),
        "</main>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>ailab policy report</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{_SCRIPT}</script></body></html>\n"
    )


def _badge(severity: Severity) -> str:
    return f'<span class="sev {severity.value}">{severity.value}</span>'


def _summary(report: Report) -> str:
    failed, waived = report.counts_by_severity(), report.counts_by_severity(Status.WAIVED)
    rows = "".join(
        f'<tr><td>{_badge(severity)}</td><td class="n">{failed[severity]}</td><td class="n">{waived[severity]}</td></tr>'
        for severity in SEVERITIES_DESCENDING
    )
    if report.errors():
        rows += f'<tr><td class="st-error">rule errors</td><td class="n">{len(report.errors())}</td><td></td></tr>'
    by_severity = f"<table><tr><th>severity</th><th>failed</th><th>waived</th></tr>{rows}</table>"
    by_framework, waived_by_framework = report.counts_by_framework(), report.waived_by_framework()
    head = "".join(f"<th>{_badge(severity)}</th>" for severity in SEVERITIES_DESCENDING) + "<th>waived</th>"
    framework_rows = "".join(
        f"<tr><td>{escape(framework_name(framework))}</td>"
        + "".join(f'<td class="n">{counts[severity]}</td>' for severity in SEVERITIES_DESCENDING)
        + f'<td class="n w">{waived_by_framework.get(framework, 0)}</td></tr>'
        for framework, counts in by_framework.items()
    )
    return (
        '<section id="summary"><h2>Findings by severity</h2>'
        + by_severity
        + "<h2>Findings by framework</h2>"
        + '<p class="muted">Failed findings per severity; waived findings (all severities) in the last column.</p>'
        + f"<table><tr><th>framework</th>{head}</tr>{framework_rows}</table></section>"
    )


def _notes(report: Report) -> str:
    if not report.notes:
        return ""
    items = "".join(f"<li>{escape(note)}</li>" for note in report.notes)
    return f'<section id="notes"><h2>Notes on the input</h2><ul>{items}</ul></section>'


def _findings(report: Report, fail_on: Severity) -> str:
    frameworks = sorted({framework for rule in report.rules for framework in rule.frameworks()})
    options = "".join(f'<option value="{key}">{escape(framework_name(key))}</option>' for key in frameworks)
    severities = "".join(f'<option value="{s.value}">{s.value} and above</option>' for s in reversed(SEVERITIES_DESCENDING))
    filters = (
        '<div class="filters"><input id="f-text" type="search" placeholder="filter: rule, resource, message…" aria-label="filter text">'
        f'<select id="f-sev" aria-label="minimum severity"><option value="">any severity</option>{severities}</select>'
        '<select id="f-status" aria-label="status"><option value="">any status</option><option value="failed">failed</option>'
        '<option value="waived">waived</option><option value="error">error</option></select>'
        f'<select id="f-fw" aria-label="framework"><option value="">any framework</option>{options}</select>'
        '<span id="f-count" class="muted"></span>'
        '<span class="actions"><button type="button" id="expand-all">Expand all</button> '
        '<button type="button" id="collapse-all">Collapse all</button></span></div>'
    )
    rows = "\n".join(_finding_row(finding, fail_on) for finding in report.findings)
    return (
        f'<section id="findings"><h2>Findings</h2>{filters}<table><thead><tr><th>severity</th><th>status</th>'
        f"<th>rule</th><th>resource</th><th>finding</th></tr></thead><tbody>\n{rows}\n</tbody></table></section>"
    )


def _finding_row(finding: Finding, fail_on: Severity) -> str:
    rule, record = finding.rule, finding.record
    location = finding_location(finding)
    text = " ".join((rule.id, rule.title, location, record.urn if record else "", finding.message)).lower()
    evidence = "".join(
        f"<li><code>{escape(item.path)}</code> = <code>{escape(value_text(item.value, 400))}</code></li>"
        for item in finding.evidence
    )
    controls = "".join(
        f"<li>{escape(control.label())}{': ' + escape(control.title) if control.title else ''}</li>" for control in rule.controls
    )
    waiver = ""
    if finding.waiver is not None:
        state = "waived" if finding.status is Status.WAIVED else "expired waiver (no longer waives)"
        waiver = (
            f"<p><b>{state}</b>: {escape(finding.waiver.justification)} — approved by {escape(finding.waiver.approver)}, "
            f"expires {finding.waiver.expires.isoformat()} ({escape(finding.waiver.location)})</p>"
        )
    details = (
        f'{escape(finding.message)}<button type="button" class="toggle" aria-expanded="false">more</button><div class="more">'
        + (f'<ul class="ev">{evidence}</ul>' if evidence else "")
        + f"<p><b>Why:</b> {escape(rule.rationale)}</p><p><b>Fix:</b> {escape(rule.remediation)}</p>"
        + f"<p><b>Controls:</b></p><ul>{controls}</ul>{waiver}</div>"
    )
    resource = f"<code>{escape(location)}</code>" + (f'<br><span class="muted">{escape(record.type)}</span>' if record else "")
    blocking = " blocking" if finding.is_blocking(fail_on) else ""
    return (
        f'<tr data-severity="{finding.severity.value}" data-status="{finding.status.value}" '
        f'data-frameworks="{" ".join(sorted(rule.frameworks()))}" data-text="{escape(text)}">'
        f'<td>{_badge(finding.severity)}</td><td class="st-{finding.status.value}{blocking}">{finding.status.value}</td>'
        f'<td><code>{rule.id}</code><br><span class="muted">{escape(rule.title)}</span></td><td>{resource}</td><td>{details}</td></tr>'
    )


def _waivers(report: Report) -> str:
    if not report.waivers:
        return '<section id="waivers"><h2>Waivers</h2><p class="muted">No waivers file was given.</p></section>'
    rows = "".join(
        f'<tr><td class="st-{"error" if use.state.value in ("expired", "unused") else "waived"}">{use.state.value}</td>'
        f'<td class="id"><code>{escape(use.waiver.rule_id)}</code></td><td><code>{escape(use.waiver.selector.describe())}</code></td>'
        f"<td>{escape(use.waiver.justification)}</td><td>{escape(use.waiver.approver)}</td>"
        f'<td>{use.waiver.expires.isoformat()}</td><td class="n">{use.matched}</td><td><code>{escape(use.waiver.location)}</code></td></tr>'
        for use in report.waivers
    )
    return (
        '<section id="waivers"><h2>Waivers</h2><table><tr><th>state</th><th>rule</th><th>selector</th><th>justification</th>'
        f"<th>approver</th><th>expires</th><th>matched</th><th>defined at</th></tr>{rows}</table></section>"
    )


def _inputs(report: Report) -> str:
    """The files checked, each with its SHA-256: what the sign-off is about, exactly."""
    if not report.inputs:
        return ""
    rows = "".join(
        f"<tr><td><code>{escape(path)}</code></td><td><code>{digest}</code></td></tr>" for path, digest in report.inputs
    )
    table = f'<table class="inputs"><tr><th>file</th><th>SHA-256</th></tr>{rows}</table>'
    if len(report.inputs) > 20:
        table = f"<details><summary>{len(report.inputs)} files</summary>{table}</details>"
    return f'<section id="inputs"><h2>Inputs</h2>{table}</section>'


def _rules(rules: tuple[Rule, ...]) -> str:
    rows = "".join(
        f"<tr><td><code>{rule.id}</code></td><td>{_badge(rule.severity)}</td><td>{escape(rule.title)}</td>"
        f"<td>{escape('; '.join(control.label() for control in rule.controls))}</td></tr>"
        for rule in rules
    )
    return (
        f'<section id="rules"><details><summary>{len(rules)} rules evaluated</summary>'
        f"<table><tr><th>rule</th><th>severity</th><th>title</th><th>controls</th></tr>{rows}</table></details></section>"
    )
