// The /query page: send the editor's text to /sparql and show the JSON results as a table.
// Plain DOM code, no framework: the page must work from this server alone.
(function () {
  "use strict";
  var form = document.getElementById("query-form");
  var editor = document.getElementById("query-text");
  var status = document.getElementById("status");
  var table = document.getElementById("results");

  function cell(tag, text, href) {
    var element = document.createElement(tag);
    if (href) {
      var link = document.createElement("a");
      link.href = href;
      link.textContent = text;
      element.appendChild(link);
    } else {
      element.textContent = text;
    }
    return element;
  }

  function localHref(iri) {
    // IRIs of this catalogue open on this server; others as they are.
    var base = document.documentElement.getAttribute("data-base") || "";
    return base && iri.indexOf(base) === 0 ? "/" + iri.slice(base.length) : iri;
  }

  function show(data) {
    table.textContent = "";
    if (typeof data.boolean === "boolean") {
      table.appendChild(cell("caption", String(data.boolean)));
      status.textContent = String(data.boolean);
      return;
    }
    var vars = data.head.vars;
    var head = table.createTHead().insertRow();
    vars.forEach(function (name) { var th = cell("th", name); th.scope = "col"; head.appendChild(th); });
    var body = table.createTBody();
    data.results.bindings.forEach(function (binding) {
      var row = body.insertRow();
      vars.forEach(function (name) {
        var term = binding[name];
        if (!term) { row.appendChild(cell("td", "")); return; }
        if (term.type === "uri") { row.appendChild(cell("td", term.value, localHref(term.value))); return; }
        var td = cell("td", term.value);
        if (term["xml:lang"]) { td.lang = term["xml:lang"]; }
        row.appendChild(td);
      });
    });
    status.textContent = data.results.bindings.length + " " + (table.getAttribute("data-rows-label") || "rows");
  }

  function run(event) {
    if (event) { event.preventDefault(); }
    status.textContent = "…";
    fetch("/sparql", {
      method: "POST",
      headers: {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"},
      body: new URLSearchParams({query: editor.value})
    }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) { throw new Error(response.status + ": " + text); });
      }
      return response.json();
    }).then(show).catch(function (error) {
      table.textContent = "";
      status.textContent = error.message;
    });
  }

  form.addEventListener("submit", run);
  Array.prototype.forEach.call(document.querySelectorAll("button.example"), function (button) {
    button.addEventListener("click", function () { editor.value = button.getAttribute("data-query"); run(); });
  });
})();
