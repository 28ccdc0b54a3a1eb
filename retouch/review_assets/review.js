// The client review gallery: before/after comparison, zoom, decisions kept in localStorage, export.
// Text that comes from files is only ever written with textContent or form values, never as HTML.
(() => {
  "use strict";

  const data = JSON.parse(document.getElementById("gallery-data").textContent);
  const storageKey = "retouch-review:" + data.gallery_id;
  const LABELS = new Map([["approved", "Approved"], ["needs changes", "Needs changes"]]);
  const NOT_REVIEWED = "Not reviewed";
  const KEY_STEPS = new Map([["ArrowLeft", -1], ["ArrowDown", -1], ["ArrowRight", 1], ["ArrowUp", 1],
                             ["PageDown", -5], ["PageUp", 5]]);
  const TAP_DISTANCE = 10;
  const TAP_MILLISECONDS = 600;
  const choices = loadChoices();

  function warnStorage() {
    const warning = document.getElementById("storage-status");
    warning.textContent = "This browser cannot keep your choices: download your decisions before you close the page.";
    warning.hidden = false;
  }

  // Choices are stored as [file, {decision, comment, time}] pairs: a Map keeps any file name a plain key.
  function loadChoices() {
    try {
      const stored = JSON.parse(window.localStorage.getItem(storageKey) || "[]");
      return new Map(Array.isArray(stored) ? stored.filter((pair) => Array.isArray(pair) && pair.length === 2
        && typeof pair[0] === "string" && pair[1] !== null && typeof pair[1] === "object") : []);
    } catch (error) {
      warnStorage();
      return new Map();
    }
  }

  function saveChoices() {
    try {
      window.localStorage.setItem(storageKey, JSON.stringify([...choices]));
    } catch (error) {
      warnStorage();
    }
  }

  function decisionOf(file) {
    const entry = choices.get(file);
    return entry && LABELS.has(entry.decision) ? entry.decision : null;
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, value));
  }

  // ---------------------------------------------------------------------------- comparison and zoom

  function setupViewer(card) {
    const viewport = card.querySelector(".viewport");
    const stage = card.querySelector(".stage");
    const after = stage.querySelector("img.after");
    const aspect = Number(after.getAttribute("width")) / Number(after.getAttribute("height"));
    let zoom = 1;

    function layout() {
      const maxHeight = Math.max(240, window.innerHeight * 0.75);
      const fit = Math.min(viewport.clientWidth, maxHeight * aspect);
      stage.style.width = Math.round(fit * zoom) + "px";
    }

    // Zooming keeps the point at the middle of the frame in the middle (a narrow stage is centred by
    // its margins, so positions are taken from the boxes on screen, not from the scroll offsets).
    function setZoom(level) {
      const frame = viewport.getBoundingClientRect();
      const box = stage.getBoundingClientRect();
      const centreX = (frame.left + viewport.clientWidth / 2 - box.left) / box.width;
      const centreY = (frame.top + viewport.clientHeight / 2 - box.top) / box.height;
      zoom = level;
      layout();
      viewport.scrollLeft = centreX * stage.offsetWidth - viewport.clientWidth / 2;
      viewport.scrollTop = centreY * stage.offsetHeight - viewport.clientHeight / 2;
      for (const button of card.querySelectorAll("[data-zoom]")) {
        button.setAttribute("aria-pressed", String(Number(button.dataset.zoom) === level));
      }
    }

    for (const button of card.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => setZoom(Number(button.dataset.zoom)));
    }
    window.addEventListener("resize", layout);
    layout();

    const divider = stage.querySelector(".divider");
    if (divider) {
      setupSlider(stage, divider, card.querySelector(".toggle"));
    }
  }

  function setupSlider(stage, divider, toggle) {
    let position = 50;
    let dragging = null;
    let tap = null;

    function show(value) {
      position = clamp(value, 0, 100);
      stage.style.setProperty("--position", position + "%");
      const shown = Math.round(position);
      divider.setAttribute("aria-valuenow", String(shown));
      divider.setAttribute("aria-valuetext", shown + "% before, " + (100 - shown) + "% after");
      toggle.textContent = position > 50 ? "Show after" : "Show before";
    }

    function flip() {
      show(position > 50 ? 0 : 100);
    }

    function follow(event) {
      const box = stage.getBoundingClientRect();
      show((event.clientX - box.left) / box.width * 100);
    }

    // Mouse and pen drag anywhere on the photo; touch drags the divider's grip, pans the zoomed photo
    // elsewhere, and a tap switches between before and after.
    stage.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) {
        return;
      }
      if (event.pointerType !== "touch" || divider.contains(event.target)) {
        dragging = event.pointerId;
        stage.setPointerCapture(event.pointerId);
        follow(event);
        event.preventDefault();
      } else {
        tap = { id: event.pointerId, x: event.clientX, y: event.clientY, time: event.timeStamp };
      }
    });
    stage.addEventListener("pointermove", (event) => {
      if (event.pointerId === dragging) {
        follow(event);
      } else if (tap && Math.hypot(event.clientX - tap.x, event.clientY - tap.y) > TAP_DISTANCE) {
        tap = null;
      }
    });
    stage.addEventListener("pointerup", (event) => {
      if (event.pointerId === dragging) {
        dragging = null;
        divider.focus({ preventScroll: true });
      } else if (tap && tap.id === event.pointerId && event.timeStamp - tap.time < TAP_MILLISECONDS) {
        flip();
      }
      tap = null;
    });
    stage.addEventListener("pointercancel", () => {
      dragging = null;
      tap = null;
    });
    divider.addEventListener("keydown", (event) => {
      if (KEY_STEPS.has(event.key)) {
        show(position + KEY_STEPS.get(event.key) * (event.shiftKey ? 10 : 2));
      } else if (event.key === "Home") {
        show(0);
      } else if (event.key === "End") {
        show(100);
      } else {
        return;
      }
      event.preventDefault();
    });
    toggle.addEventListener("click", flip);
    show(position);
  }

  // -------------------------------------------------------------------------------------- decisions

  function showState(photo) {
    const decision = decisionOf(photo.file);
    const text = decision ? LABELS.get(decision) : NOT_REVIEWED;
    const card = document.getElementById("photo-" + photo.number);
    const badge = document.getElementById("badge-" + photo.number);
    document.getElementById("state-" + photo.number).textContent = text;
    badge.textContent = text;
    card.dataset.decision = decision || "none";
    badge.dataset.decision = decision || "none";
  }

  function showProgress() {
    const done = data.photos.filter((photo) => decisionOf(photo.file)).length;
    const total = data.photos.length;
    document.getElementById("progress").textContent =
      done + " of " + total + (total === 1 ? " photo" : " photos") + " reviewed";
  }

  function setupReview(photo) {
    const card = document.getElementById("photo-" + photo.number);
    const radios = [...card.querySelectorAll('input[type="radio"]')];
    const comment = card.querySelector("textarea");
    const saved = choices.get(photo.file);
    if (saved) {
      for (const radio of radios) {
        radio.checked = radio.value === saved.decision;
      }
      comment.value = typeof saved.comment === "string" ? saved.comment : "";
    }

    function remember() {
      const checked = radios.find((radio) => radio.checked);
      const entry = { decision: checked ? checked.value : null, comment: comment.value,
                      time: new Date().toISOString() };
      if (entry.decision === null && entry.comment.trim() === "") {
        choices.delete(photo.file);
      } else {
        choices.set(photo.file, entry);
      }
      saveChoices();
      showState(photo);
      showProgress();
    }

    for (const radio of radios) {
      radio.addEventListener("change", remember);
    }
    comment.addEventListener("input", remember);
    showState(photo);
  }

  // The decisions file: only the photos the client marked or commented on, in gallery order.
  function decisions() {
    const photos = [];
    for (const photo of data.photos) {
      const entry = choices.get(photo.file);
      if (entry) {
        photos.push({ file: photo.file, decision: decisionOf(photo.file),
                      comment: typeof entry.comment === "string" ? entry.comment : "",
                      time: typeof entry.time === "string" ? entry.time : null });
      }
    }
    return { gallery_id: data.gallery_id, title: data.title, exported: new Date().toISOString(), photos };
  }

  function download() {
    const status = document.getElementById("export-status");
    const payload = decisions();
    if (payload.photos.length === 0) {
      status.textContent = "Nothing to download yet: mark a photo approved or needing changes first.";
      return;
    }
    const blob = new Blob([JSON.stringify(payload, null, 2) + "\n"], { type: "application/json" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = "decisions.json";
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60000);
    const count = payload.photos.length;
    status.textContent = "Downloaded decisions.json with " + count + (count === 1 ? " photo" : " photos")
      + ". Please send this file to your photographer.";
  }

  for (const photo of data.photos) {
    setupViewer(document.getElementById("photo-" + photo.number));
    setupReview(photo);
  }
  showProgress();
  document.getElementById("export").addEventListener("click", download);
})();
