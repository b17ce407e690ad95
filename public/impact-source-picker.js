// Progressive enhancement of the impact source form (Add impact / Edit). Without this script the
// plain <select>, the <datalist> of every environment Sentry knows, and the default name all work.
// With it: a search box filters a long Sentry project list, the environment suggestions narrow to
// the chosen project's, and the display name's placeholder shows the default it will get.
(function () {
  "use strict";
  for (const form of document.querySelectorAll("form.impact-source-form")) {
    const select = form.querySelector("select[data-sentry-projects]");
    const search = form.querySelector("[data-picker-search]");
    const environment = form.querySelector("[data-sentry-environment]");
    const datalist = document.getElementById("sentry-environment-suggestions");
    const name = form.querySelector("[data-source-name]");
    const allEnvironments = datalist ? JSON.parse(datalist.dataset.allEnvironments || "[]") : [];

    function chosen() {
      const option = select && select.selectedOptions[0];
      return option && option.value ? option : null;
    }

    function refreshSuggestions() {
      if (!datalist) return;
      const option = chosen();
      const own = option ? JSON.parse(option.dataset.environments || "[]") : [];
      const names = own.length ? own : allEnvironments;
      datalist.replaceChildren(...names.map((n) => Object.assign(document.createElement("option"), { value: n })));
    }

    function refreshName() {
      if (!name) return;
      const option = chosen();
      const env = environment && environment.value.trim();
      name.placeholder = option && env ? `${option.value} · ${env}` : "<Sentry project> · <environment>";
    }

    if (search && select) {
      search.hidden = false;
      search.addEventListener("input", () => {
        const q = search.value.trim().toLowerCase();
        const visible = [];
        for (const option of select.options) {
          if (!option.value) continue;
          option.hidden = q !== "" && !option.textContent.toLowerCase().includes(q);
          if (!option.hidden) visible.push(option);
        }
        // One match left: choose it, so typing a name and pressing Tab is enough.
        if (visible.length === 1 && select.value !== visible[0].value) {
          select.value = visible[0].value;
          select.dispatchEvent(new Event("change"));
        }
      });
    }
    if (select) select.addEventListener("change", () => { refreshSuggestions(); refreshName(); });
    if (environment) environment.addEventListener("input", refreshName);
    refreshSuggestions();
    refreshName();
  }
})();
