// The findings table of a Ridgeline HTML report: search, filters, sorting and expandable details.
// Every value from the scan is written with textContent, never parsed as HTML.
(function () {
  "use strict";

  var PAGE_SIZE = 200;
  var SEVERITY_RANK = { critical: 4, high: 3, medium: 2, low: 1, informational: 0 };
  var STATUS_RANK = { FAIL: 0, ERROR: 1, MUTED: 2, PASS: 3 };
  // Control characters and bidirectional overrides are shown as \uXXXX so that a resource name cannot
  // hide text or reorder the displayed text. Newline and tab stay because evidence and commands use them.
  var CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

  var source = document.getElementById("report-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var rules = data.rules;
  var findings = data.findings;

  var table = document.getElementById("findings-table");
  var tbody = table.querySelector("tbody");
  var countLabel = document.getElementById("findings-count");
  var moreButton = document.getElementById("findings-more");
  var search = document.getElementById("filter-search");
  var filters = {
    status: document.getElementById("filter-status"),
    severity: document.getElementById("filter-severity"),
    category: document.getElementById("filter-category"),
    service: document.getElementById("filter-service"),
    account: document.getElementById("filter-account")
  };

  var matching = [];
  var limit = PAGE_SIZE;
  var sortKey = null;
  var sortDirection = 1;

  function visible(value) {
    return String(value === null || value === undefined ? "" : value).replace(CONTROL, function (c) {
      return "\\u" + ("0000" + c.charCodeAt(0).toString(16)).slice(-4);
    });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = visible(text); }
    return node;
  }

  function badge(kind, value) {
    // Class names come from closed lists (statuses, severities); anything else gets no style.
    var safe = /^[A-Za-z-]+$/.test(value) ? value : "unknown";
    return element("span", "badge " + kind + "-" + safe, value);
  }

  function ruleTitle(finding) {
    var rule = rules[finding.rule_id];
    return rule ? rule.title : finding.rule_id;
  }

  // Search text is built once per finding: lowercase, every field a reader may type.
  findings.forEach(function (finding) {
    finding._search = [
      finding.rule_id, ruleTitle(finding), finding.resource_id, finding.resource_name, finding.resource_type,
      finding.message, finding.account, finding.region, finding.category, finding.service, finding.status,
      finding.severity, finding.muted_reason
    ].join("\u0001").toLowerCase();
  });

  function fillSelect(select, values) {
    values.forEach(function (value) {
      var option = document.createElement("option");
      option.value = value;
      option.textContent = visible(value);
      select.appendChild(option);
    });
  }

  function distinct(field) {
    var seen = {};
    findings.forEach(function (finding) { seen[finding[field]] = true; });
    return Object.keys(seen).sort();
  }

  fillSelect(filters.status, ["FAIL", "ERROR", "MUTED", "PASS"].filter(function (status) {
    return findings.some(function (finding) { return finding.status === status; });
  }));
  fillSelect(filters.severity, ["critical", "high", "medium", "low", "informational"].filter(function (severity) {
    return findings.some(function (finding) { return finding.severity === severity; });
  }));
  fillSelect(filters.category, distinct("category"));
  fillSelect(filters.service, distinct("service"));
  fillSelect(filters.account, distinct("account"));

  function matches(finding, terms) {
    for (var field in filters) {
      var expected = filters[field].value;
      if (expected && finding[field] !== expected) { return false; }
    }
    for (var i = 0; i < terms.length; i++) {
      if (finding._search.indexOf(terms[i]) === -1) { return false; }
    }
    return true;
  }

  function sortValue(finding, key) {
    if (key === "severity") { return SEVERITY_RANK[finding.severity]; }
    if (key === "status") { return -STATUS_RANK[finding.status]; }
    if (key === "rule") { return ruleTitle(finding).toLowerCase(); }
    if (key === "resource") { return (finding.resource_name || finding.resource_id).toLowerCase(); }
    return String(finding[key] || "").toLowerCase();
  }

  function compare(a, b) {
    var left = sortValue(a, sortKey);
    var right = sortValue(b, sortKey);
    if (left < right) { return -sortDirection; }
    if (left > right) { return sortDirection; }
    return a._order - b._order;
  }

  findings.forEach(function (finding, index) { finding._order = index; });

  function detailSection(grid, heading, content, wide) {
    var box = element("div", wide ? "full" : "");
    box.appendChild(element("h4", "", heading));
    box.appendChild(content);
    grid.appendChild(box);
  }

  function preformatted(text) {
    return element("pre", "", text);
  }

  function safeLink(url) {
    var text = visible(url);
    if (/^https?:\/\//i.test(url)) {
      var link = element("a", "wrap-any", text);
      link.href = url;
      link.rel = "noopener noreferrer";
      link.target = "_blank";
      return link;
    }
    return element("span", "wrap-any", text);
  }

  function buildDetail(finding) {
    var rule = rules[finding.rule_id];
    var grid = element("div", "detail-grid");

    var about = element("div");
    about.appendChild(element("p", "", finding.message));
    if (rule && rule.description) { about.appendChild(element("p", "muted-text", rule.description)); }
    if (rule && rule.risk) { about.appendChild(element("p", "muted-text", "Risk: " + rule.risk)); }
    if (finding.muted_reason) { about.appendChild(element("p", "", "Muted: " + finding.muted_reason)); }
    detailSection(grid, "Finding", about, false);

    var facts = element("dl", "facts");
    [
      ["Finding id", finding.id], ["Rule", finding.rule_id], ["Resource", finding.resource_id],
      ["Type", finding.resource_type], ["Account", finding.account], ["Region", finding.region],
      ["Category", finding.category], ["Service", finding.service]
    ].forEach(function (pair) {
      facts.appendChild(element("dt", "", pair[0]));
      facts.appendChild(element("dd", "mono", pair[1]));
    });
    detailSection(grid, "Where", facts, false);

    var evidence = finding.evidence && Object.keys(finding.evidence).length
      ? JSON.stringify(finding.evidence, null, 2) : "No evidence recorded (evidence is kept for FAIL and ERROR findings).";
    detailSection(grid, "Evidence", preformatted(evidence), true);

    var remediation = finding.remediation;
    if (remediation && remediation.text) {
      detailSection(grid, "Remediation", element("p", "", remediation.text), true);
    }
    if (remediation && remediation.cli) {
      detailSection(grid, (rule && rule.cli_name) || "CLI", preformatted(remediation.cli), false);
    }
    if (remediation && remediation.terraform) {
      detailSection(grid, "Terraform", preformatted(remediation.terraform), false);
    }

    if (rule && Object.keys(rule.compliance).length) {
      var list = element("ul", "");
      Object.keys(rule.compliance).forEach(function (framework) {
        list.appendChild(element("li", "", framework + ": " + rule.compliance[framework].join(", ")));
      });
      detailSection(grid, "Compliance", list, false);
    }
    if (rule && rule.references.length) {
      var references = element("ul", "");
      rule.references.forEach(function (url) {
        var item = element("li");
        item.appendChild(safeLink(url));
        references.appendChild(item);
      });
      detailSection(grid, "References", references, false);
    }
    return grid;
  }

  function toggle(row, finding) {
    var next = row.nextElementSibling;
    var button = row.querySelector("button.toggle");
    if (next && next.classList.contains("detail")) {
      next.remove();
      row.classList.remove("open");
      button.setAttribute("aria-expanded", "false");
      button.textContent = "\u25B6";
      return;
    }
    var detail = element("tr", "detail");
    var cell = element("td");
    cell.colSpan = 7;
    cell.appendChild(buildDetail(finding));
    detail.appendChild(cell);
    row.after(detail);
    row.classList.add("open");
    button.setAttribute("aria-expanded", "true");
    button.textContent = "\u25BC";
  }

  function buildRow(finding) {
    var row = element("tr", "finding");
    row.dataset.findingId = finding.id;

    var statusCell = element("td", "nowrap");
    var button = element("button", "toggle", "\u25B6");
    button.type = "button";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", "Show details");
    statusCell.appendChild(button);
    statusCell.appendChild(badge("st", finding.status));
    row.appendChild(statusCell);

    var severityCell = element("td");
    severityCell.appendChild(badge("sev", finding.severity));
    row.appendChild(severityCell);

    var ruleCell = element("td");
    ruleCell.appendChild(element("div", "title", ruleTitle(finding)));
    ruleCell.appendChild(element("div", "id", finding.rule_id));
    row.appendChild(ruleCell);

    var resourceCell = element("td", "resource");
    resourceCell.appendChild(element("div", "", finding.resource_name || finding.resource_id));
    resourceCell.appendChild(element("div", "id", finding.resource_type));
    row.appendChild(resourceCell);

    row.appendChild(element("td", "mono", finding.account));
    row.appendChild(element("td", "mono nowrap", finding.region));
    row.appendChild(element("td", "message", finding.message));

    row.addEventListener("click", function (event) {
      if (event.target.closest("a")) { return; }
      toggle(row, finding);
    });
    return row;
  }

  function render() {
    var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    matching = findings.filter(function (finding) { return matches(finding, terms); });
    if (sortKey) { matching.sort(compare); }

    var fragment = document.createDocumentFragment();
    matching.slice(0, limit).forEach(function (finding) { fragment.appendChild(buildRow(finding)); });
    if (!matching.length) {
      var empty = element("tr", "empty-row");
      var cell = element("td", "", "No finding matches the search and filters.");
      cell.colSpan = 7;
      empty.appendChild(cell);
      fragment.appendChild(empty);
    }
    tbody.replaceChildren(fragment);

    var showing = Math.min(limit, matching.length);
    countLabel.textContent = showing < matching.length
      ? "Showing " + showing + " of " + matching.length + " matching findings (" + findings.length + " in total)"
      : matching.length + " of " + findings.length + " findings";
    moreButton.hidden = showing >= matching.length;
  }

  function refilter() {
    limit = PAGE_SIZE;
    render();
  }

  var pending = null;
  search.addEventListener("input", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(refilter, 120);
  });
  Object.keys(filters).forEach(function (field) { filters[field].addEventListener("change", refilter); });
  moreButton.addEventListener("click", function () {
    limit += PAGE_SIZE;
    render();
  });
  document.getElementById("filter-reset").addEventListener("click", function () {
    search.value = "";
    Object.keys(filters).forEach(function (field) { filters[field].value = ""; });
    refilter();
  });

  table.querySelectorAll("th.sortable").forEach(function (header) {
    function sortBy() {
      var key = header.dataset.sort;
      sortDirection = sortKey === key ? -sortDirection : (key === "severity" || key === "status" ? -1 : 1);
      sortKey = key;
      table.querySelectorAll("th.sortable").forEach(function (other) { other.removeAttribute("aria-sort"); });
      header.setAttribute("aria-sort", sortDirection === 1 ? "ascending" : "descending");
      render();
    }
    header.addEventListener("click", sortBy);
    header.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(); }
    });
  });

  // Chart bars filter the table: a click on "high" shows the high FAIL findings.
  document.querySelectorAll("g.clickable[data-filter]").forEach(function (bar) {
    function apply() {
      var field = bar.getAttribute("data-filter");
      if (!filters[field]) { return; }
      search.value = "";
      Object.keys(filters).forEach(function (name) { filters[name].value = ""; });
      filters.status.value = "FAIL";
      filters[field].value = bar.getAttribute("data-value");
      refilter();
      document.getElementById("findings").scrollIntoView({ behavior: "smooth" });
    }
    bar.addEventListener("click", apply);
    bar.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); apply(); }
    });
  });

  document.body.classList.add("scripted");
  render();
})();
