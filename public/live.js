/*
 * Live deploy cards. Served as /assets/live.js after socket.io's client (/socket.io/socket.io.js).
 * No framework, no build step, no innerHTML: cards are built with createElement and textContent,
 * mirroring views/partials/deploy-card.hbs and the helpers in src/web/helpers/ (badge, explanation,
 * sparkline, countdown, relative time); change one, change the other.
 *
 * The page holds one [data-live-deploys] list: data-project="<slug>" (a project page) or
 * data-scope="organization" (/deploys), data-environment (a filter), data-live-insert ("false" on
 * older pages: update cards in place, add none). On every (re)connect the script watches again,
 * then fetches cards.json and merges it by deploy id, so whatever happened while it was away shows
 * up once.
 */
(function () {
  "use strict";

  var list = document.querySelector("[data-live-deploys]");
  if (!list || typeof window.io !== "function") return;

  var SVG_NS = "http://www.w3.org/2000/svg";
  var SPARK_W = 240;
  var SPARK_H = 40;
  var DEFAULT_BIN_MS = 5 * 60000;
  var EMPTY_SPAN_MS = 60 * 60000;
  var HEALTH = { pending: "pending", healthy: "healthy", ailing: "ailing", unhealthy: "unhealthy", improved: "improved", no_data: "no data" };
  var SOURCES = { native: "API", sleuth: "Sleuth webhook", github: "GitHub", sentry: "sentry-cli" };

  var projectSlug = list.getAttribute("data-project");
  var organizationWide = list.getAttribute("data-scope") === "organization";
  var environment = list.getAttribute("data-environment") || "";
  var mayInsert = list.getAttribute("data-live-insert") !== "false";
  var banner = document.querySelector("[data-integration-banner]");
  var statusLine = document.querySelector("[data-live-status]");

  // ---- small pure helpers (same rules as src/web/helpers/*.ts) ---------------------------------

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function isoTime(value) {
    var t = Date.parse(String(value));
    return isNaN(t) ? "" : new Date(t).toISOString();
  }

  function formatTime(value) {
    var iso = isoTime(value);
    return iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "";
  }

  function timeAgo(value, now) {
    var time = Date.parse(String(value));
    if (isNaN(time)) return "";
    var seconds = Math.round((now - time) / 1000);
    if (seconds < 0) return "in the future";
    if (seconds < 45) return "just now";
    var minutes = Math.round(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    var hours = Math.round(minutes / 60);
    if (hours < 48) return hours + " h ago";
    return Math.round(hours / 24) + " days ago";
  }

  function shortSha(version) {
    var text = version === undefined || version === null ? "" : String(version);
    return /^[0-9a-f]{40}$/i.test(text) ? text.slice(0, 12) : text;
  }

  function httpUrl(value) {
    if (typeof value !== "string") return "";
    try {
      var url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : "";
    } catch (e) {
      return "";
    }
  }

  function deploySource(source) {
    var key = typeof source === "string" ? source : "";
    return has(SOURCES, key) ? SOURCES[key] : key || "unknown";
  }

  function deployFinalAt(deploy) {
    var impacts = deploy && Array.isArray(deploy.impacts) ? deploy.impacts : [];
    var latest = NaN;
    impacts.forEach(function (impact) {
      var at = Date.parse(String(impact && impact.finalAt != null ? impact.finalAt : ""));
      if (!isNaN(at) && !(at <= latest)) latest = at;
    });
    return isNaN(latest) ? "" : new Date(latest).toISOString();
  }

  function countdownText(final, finalAtIso, now) {
    if (final) return "";
    var finalAt = Date.parse(finalAtIso);
    if (isNaN(finalAt)) return "provisional";
    var minutes = Math.ceil((finalAt - now) / 60000);
    if (minutes <= 0) return "provisional — final shortly";
    if (minutes < 60) return "provisional — final in " + minutes + " min";
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    return "provisional — final in " + hours + " h" + (rest ? " " + rest + " min" : "");
  }

  function num(value) {
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  function rate(part) {
    var count = num(part && part.count);
    var minutes = num(part && part.minutes);
    if (count === null || minutes === null || minutes <= 0) return null;
    var perMinute = count / minutes;
    return (perMinute >= 10 ? perMinute.toFixed(0) : perMinute >= 1 ? perMinute.toFixed(1) : perMinute.toFixed(2)) + "/min";
  }

  function impactExplanation(i) {
    if (!i || typeof i !== "object") return "";
    if (typeof i.explanation === "string" && i.explanation.trim()) return i.explanation.trim();
    var parts = [];
    var before = rate(i.baseline);
    var after = rate(i.after);
    if (before && after) parts.push("errors " + before + " → " + after);
    var ratio = num(i.ratio);
    if (ratio !== null) parts.push("×" + (ratio >= 10 ? ratio.toFixed(0) : ratio.toFixed(1)));
    var p = num(i.pValue);
    if (p !== null) parts.push(p < 0.001 ? "p < 0.001" : "p = " + p.toFixed(3));
    var issues = Array.isArray(i.newIssues) ? i.newIssues.length : 0;
    if (issues) parts.push(issues + " new issue" + (issues === 1 ? "" : "s"));
    if (!parts.length) return i.health === "pending" ? "waiting for error counts from Sentry" : "";
    return parts.join(", ");
  }

  // ---- DOM building ------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function svgEl(tag, attrs, children) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    append(node, children);
    return node;
  }

  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (name) {
      var value = attrs[name];
      if (value === false || value === null || value === undefined) return;
      node.setAttribute(name, value === true ? "" : String(value));
    });
  }

  function append(node, children) {
    if (children === undefined || children === null) return;
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
  }

  function badge(health) {
    var key = typeof health === "string" ? health : "";
    var known = has(HEALTH, key);
    return el("span", { class: "badge badge-" + (known ? key : "pending"), "data-health": key }, known ? HEALTH[key] : key || "unknown");
  }

  function clockTime(ms) {
    return new Date(ms).toISOString().slice(11, 16) + " UTC";
  }

  function round(n) {
    return Math.round(n * 100) / 100;
  }

  function sparkline(binsInput, deployTime) {
    var bins = (Array.isArray(binsInput) ? binsInput : [])
      .filter(function (b) {
        return b && typeof b === "object" && typeof b.t === "number" && isFinite(b.t);
      })
      .map(function (b) {
        return { t: b.t, count: typeof b.count === "number" && isFinite(b.count) && b.count >= 0 ? b.count : null };
      })
      .sort(function (a, b) {
        return a.t - b.t;
      });
    var deployAt = Date.parse(String(deployTime));
    var binMs = Infinity;
    for (var i = 1; i < bins.length; i++) {
      var gap = bins[i].t - bins[i - 1].t;
      if (gap > 0 && gap < binMs) binMs = gap;
    }
    if (!isFinite(binMs)) binMs = DEFAULT_BIN_MS;
    var anchor = isFinite(deployAt) ? deployAt : bins.length ? bins[0].t : 0;
    var start = bins.length ? bins[0].t : anchor - EMPTY_SPAN_MS;
    var end = bins.length ? bins[bins.length - 1].t + binMs : anchor + EMPTY_SPAN_MS;
    var span = Math.max(end - start, 1);
    var x = function (t) {
      return round(((t - start) / span) * SPARK_W);
    };
    var peak = 0;
    bins.forEach(function (b) {
      if ((b.count || 0) > peak) peak = b.count;
    });
    var max = Math.max(1, peak);
    var barWidth = (binMs / span) * SPARK_W;
    var barGap = barWidth > 3 ? 1 : 0;
    var before = 0;
    var after = 0;
    var rects = bins.map(function (bin) {
      var side = isFinite(deployAt) && bin.t + binMs > deployAt ? "after" : "before";
      var height, kind, label;
      if (bin.count === null) {
        height = 2;
        kind = " spark-unknown";
        label = "no answer from Sentry yet";
      } else {
        height = bin.count === 0 ? 1 : Math.max(2, (bin.count / max) * (SPARK_H - 4));
        kind = bin.count === 0 ? " spark-zero" : "";
        label = bin.count + " error" + (bin.count === 1 ? "" : "s");
        if (side === "after") after += bin.count;
        else before += bin.count;
      }
      return svgEl(
        "rect",
        {
          class: "spark-bin spark-" + side + kind,
          "data-t": bin.t,
          "data-count": bin.count === null ? "" : bin.count,
          x: x(bin.t),
          y: round(SPARK_H - height),
          width: round(Math.max(barWidth - barGap, 0.5)),
          height: round(height),
        },
        svgEl("title", null, clockTime(bin.t) + ": " + label),
      );
    });
    var markerX = round(Math.min(Math.max(isFinite(deployAt) ? x(deployAt) : 0, 0.5), SPARK_W - 0.5));
    var deployLabel = isFinite(deployAt) ? "deploy at " + clockTime(deployAt) : "deploy time unknown";
    var summary = bins.length
      ? "Errors per " + Math.round(binMs / 60000) + " min around the deploy: " + before + " before, " + after + " after (peak " + peak + " in one bin)"
      : "No error counts from Sentry yet";
    var label = summary + "; " + deployLabel;
    return svgEl(
      "svg",
      { class: "sparkline", viewBox: "0 0 " + SPARK_W + " " + SPARK_H, width: SPARK_W, height: SPARK_H, role: "img", "aria-label": label, "data-bins": bins.length },
      [
        svgEl("title", null, label),
        svgEl("line", { class: "spark-axis", x1: 0, y1: SPARK_H - 0.5, x2: SPARK_W, y2: SPARK_H - 0.5 }),
      ]
        .concat(rects)
        .concat([
          svgEl(
            "line",
            { class: "spark-deploy", "data-deploy-at": isFinite(deployAt) ? deployAt : "", x1: markerX, y1: 0, x2: markerX, y2: SPARK_H },
            svgEl("title", null, deployLabel),
          ),
        ]),
    );
  }

  function versionNode(deploy) {
    var code = el("code", null, shortSha(deploy.version));
    var href = httpUrl(deploy.url);
    return href ? el("a", { href: href, rel: "noopener noreferrer" }, code) : code;
  }

  function headNode(deploy) {
    return el("header", { class: "deploy-head" }, [
      el("h3", { class: "deploy-version", id: "deploy-" + deploy.id + "-version", title: deploy.version }, versionNode(deploy)),
      el("span", { class: "deploy-health", title: "Overall: the worst of its impact sources" }, badge(deploy.health)),
      deploy.rollback ? el("span", { class: "badge deploy-rollback" }, "rollback") : null,
      deploy.rolledBack ? el("span", { class: "badge deploy-rolled-back" }, "rolled back") : null,
    ]);
  }

  function metaNode(deploy, now) {
    var parts = [];
    if (organizationWide) {
      parts.push(el("a", { class: "deploy-project", href: "/projects/" + deploy.project }, deploy.project), " · ");
    }
    parts.push(el("span", { class: "deploy-environment" }, deploy.environment), " · ");
    parts.push(el("time", { class: "deploy-time", datetime: isoTime(deploy.timestamp), title: formatTime(deploy.timestamp) }, timeAgo(deploy.timestamp, now)));
    if (deploy.author) parts.push(" · by ", el("span", { class: "deploy-author" }, deploy.author));
    parts.push(" · via ", el("span", { class: "deploy-source" }, deploySource(deploy.source)));
    if (deploy.name) parts.push(" · ", el("span", { class: "deploy-name" }, deploy.name));
    return el("p", { class: "deploy-meta muted" }, parts);
  }

  function tagsNode(deploy) {
    var tags = Array.isArray(deploy.tags) ? deploy.tags : [];
    if (!tags.length) return null;
    var children = [];
    tags.forEach(function (tag) {
      children.push(el("span", { class: "tag" }, String(tag)), " ");
    });
    return el("p", { class: "deploy-tags" }, children);
  }

  function linksNode(deploy) {
    var links = deploy.links && typeof deploy.links === "object" && !Array.isArray(deploy.links) ? deploy.links : {};
    var children = [];
    Object.keys(links).forEach(function (name) {
      var href = httpUrl(links[name]);
      if (href) children.push(el("a", { href: href, rel: "noopener noreferrer" }, name), " ");
    });
    return children.length ? el("p", { class: "deploy-links" }, children) : null;
  }

  function countdownNode(deploy, now) {
    var finalAt = deployFinalAt(deploy);
    return el("p", { class: "deploy-countdown", "data-final-at": finalAt, hidden: deploy.final === true }, countdownText(deploy.final === true, finalAt, now));
  }

  function impactsNode(deploy) {
    var impacts = Array.isArray(deploy.impacts) ? deploy.impacts : [];
    if (!impacts.length) {
      return el(
        "ul",
        { class: "deploy-impacts" },
        el(
          "li",
          { class: "impact impact-none muted" },
          "No impact measured yet: an impact source for " + deploy.environment + " starts judging at the next poll (see the project's settings).",
        ),
      );
    }
    return el(
      "ul",
      { class: "deploy-impacts" },
      impacts.map(function (impact) {
        var source = impact.impactSource || {};
        var issues = Array.isArray(impact.newIssues) ? impact.newIssues : [];
        var issueChildren = ["New issues: "];
        issues.forEach(function (issue) {
          issueChildren.push(el("a", { href: httpUrl(issue.permalink), rel: "noopener noreferrer" }, String(issue.shortId)), " ");
        });
        return el("li", { class: "impact health-" + impact.health, "data-impact-source-id": source.id, "data-health": impact.health }, [
          el("p", { class: "impact-head" }, [el("span", { class: "impact-name" }, String(source.name == null ? "" : source.name)), " ", badge(impact.health)]),
          el("p", { class: "impact-explanation" }, impactExplanation(impact)),
          issues.length ? el("p", { class: "impact-issues" }, issueChildren) : null,
          el("div", { class: "impact-sparkline" }, sparkline(impact.sparkline, deploy.timestamp)),
        ]);
      }),
    );
  }

  function cardAttrs(deploy) {
    return {
      class: "deploy-card card health-" + deploy.health,
      "data-deploy-id": deploy.id,
      "data-project": deploy.project,
      "data-environment": deploy.environment,
      "data-timestamp": isoTime(deploy.timestamp),
      "data-health": deploy.health,
      "data-final": deploy.final === true ? "true" : "false",
      "aria-labelledby": "deploy-" + deploy.id + "-version",
    };
  }

  function renderCard(deploy, now) {
    return el("article", cardAttrs(deploy), [
      headNode(deploy),
      metaNode(deploy, now),
      tagsNode(deploy),
      linksNode(deploy),
      countdownNode(deploy, now),
      impactsNode(deploy),
    ]);
  }

  // ---- keeping the list current -----------------------------------------------------------------

  function findCard(id) {
    var cards = list.querySelectorAll("article.deploy-card");
    for (var i = 0; i < cards.length; i++) if (cards[i].getAttribute("data-deploy-id") === id) return cards[i];
    return null;
  }

  function belongsHere(deploy) {
    if (!deploy || typeof deploy.id !== "string") return false;
    if (!organizationWide && deploy.project !== projectSlug) return false;
    if (environment && deploy.environment !== environment) return false;
    return true;
  }

  /** Replaces what a verdict changes, keeping the card element (and the reader's place) as it is. */
  function updateCard(card, deploy) {
    var fresh = renderCard(deploy, Date.now());
    var attrs = cardAttrs(deploy);
    Object.keys(attrs).forEach(function (name) {
      card.setAttribute(name, attrs[name]);
    });
    card.replaceChildren.apply(card, Array.prototype.slice.call(fresh.childNodes));
  }

  function insertCard(deploy) {
    var at = Date.parse(deploy.timestamp);
    var cards = list.querySelectorAll("article.deploy-card");
    var next = null;
    // Newest first: a deploy registered with a past time goes where its time puts it.
    for (var i = 0; i < cards.length; i++) {
      if (Date.parse(cards[i].getAttribute("data-timestamp")) <= at) {
        next = cards[i];
        break;
      }
    }
    // Older than every card of a full page: it belongs on a later page.
    if (!next && cards.length >= 25) return;
    var card = renderCard(deploy, Date.now());
    var empty = list.querySelector("[data-empty-state]");
    if (empty) empty.remove();
    if (next) list.insertBefore(card, next);
    else if (cards.length) cards[cards.length - 1].after(card);
    else list.insertBefore(card, list.firstChild);
    card.classList.add("deploy-card-new");
    announce("New deploy " + shortSha(deploy.version) + " in " + deploy.environment + (organizationWide ? " of " + deploy.project : ""));
  }

  function upsert(deploy) {
    if (!belongsHere(deploy)) return;
    var card = findCard(deploy.id);
    if (card) updateCard(card, deploy);
    else if (mayInsert) insertCard(deploy);
  }

  function announce(text) {
    if (!statusLine) return;
    statusLine.hidden = false;
    statusLine.textContent = text;
  }

  function showIntegration(status) {
    if (!banner || !status) return;
    var bad = status.status === "needs_reconnect" || status.status === "error";
    banner.hidden = !bad;
    if (!bad) return;
    var title = banner.querySelector("[data-integration-banner-title]");
    var detail = banner.querySelector("[data-integration-banner-detail]");
    if (title) title.textContent = status.status === "error" ? "Sentry has not been reachable for a while." : "Sentry needs reconnecting.";
    if (detail) detail.textContent = "Deploys are not being judged until it is fixed" + (status.lastError ? " (" + status.lastError + ")" : "") + ".";
  }

  function tick() {
    var now = Date.now();
    list.querySelectorAll("time.deploy-time").forEach(function (node) {
      node.textContent = timeAgo(node.getAttribute("datetime"), now);
    });
    list.querySelectorAll("article.deploy-card").forEach(function (card) {
      var countdown = card.querySelector(".deploy-countdown");
      if (!countdown) return;
      var final = card.getAttribute("data-final") === "true";
      countdown.textContent = countdownText(final, countdown.getAttribute("data-final-at") || "", now);
      countdown.hidden = final;
    });
  }

  var resyncing = null;
  function resync() {
    // One catch-up at a time; a reconnect during one waits for it rather than racing it.
    if (resyncing) return resyncing;
    var url = organizationWide ? "/deploys/cards.json" : "/projects/" + encodeURIComponent(projectSlug) + "/cards.json";
    if (environment) url += "?environment=" + encodeURIComponent(environment);
    resyncing = fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (body) {
        // Oldest first, so each insert lands above the ones before it.
        (body.deploys || []).slice().reverse().forEach(upsert);
        showIntegration(body.integration);
        list.setAttribute("data-live-synced", String(Date.now()));
      })
      .catch(function () {
        announce("Could not catch up on deploys; reload the page to see the latest.");
      })
      .then(function () {
        resyncing = null;
      });
    return resyncing;
  }

  // WebSocket first: several instances behind a load balancer then need no sticky sessions; long
  // polling stays as the fallback where a proxy blocks WebSockets.
  var socket = window.io("/live", { withCredentials: true, transports: ["websocket", "polling"] });
  var everConnected = false;

  socket.on("connect", function () {
    var request = organizationWide ? { organization: true } : { project: projectSlug };
    socket.emit("watch", request, function (answer) {
      if (!answer || !answer.ok) {
        announce("Live updates are off: " + ((answer && answer.error) || "the server refused."));
        return;
      }
      list.setAttribute("data-live", "connected");
      if (everConnected) announce("Live updates are back on.");
      else if (statusLine) statusLine.hidden = true;
      everConnected = true;
      // Also on the first connect: a deploy may have landed between rendering and watching.
      resync();
    });
  });

  socket.on("disconnect", function () {
    list.setAttribute("data-live", "disconnected");
    announce("Live updates paused; reconnecting…");
  });

  socket.on("connect_error", function (error) {
    list.setAttribute("data-live", "refused");
    if (error && error.data && error.data.code === "unauthenticated") {
      announce("Live updates are off: sign in again to resume them.");
    }
  });

  socket.on("deploy.created", upsert);
  socket.on("deploy.impact", upsert);
  socket.on("integration.status", showIntegration);

  setInterval(tick, 30000);
})();
