// The portal's only script: send forms with fetch() and poll for what changed. Every page
// also works without it (plain forms and links). No framework, no build step (docs/portal.md).
"use strict";

const POLL_MS = 1500;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Poll `url` every POLL_MS while the tab is visible; `handle(json)` gets each answer.
function poll(url, handle) {
  let busy = false;
  async function tick() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const answer = await fetch(url(), { headers: { Accept: "application/json" } });
      if (answer.status === 401) { window.location.reload(); return; }
      if (answer.ok) handle(await answer.json());
    } catch (error) {
      // the server restarted or the tunnel dropped: try again on the next tick
    } finally {
      busy = false;
    }
  }
  setInterval(tick, POLL_MS);
  document.addEventListener("visibilitychange", tick);
  return tick;
}

// -- chat -----------------------------------------------------------------------------

function bubble(message, who) {
  const item = document.createElement("li");
  item.className = "burbuja " + (message.from_bot ? "bot" : "persona");
  item.dataset.id = message.id;
  const name = document.createElement("span");
  name.className = "quien";
  name.textContent = message.from_bot ? "Bot" : who;
  const text = document.createElement("span");
  text.className = "texto";
  text.textContent = message.body;
  item.append(name, text);
  return item;
}

function setupChat() {
  const list = document.getElementById("mensajes");
  const form = document.querySelector("[data-chat-form]");
  if (!list || !form) return;
  const who = form.elements.nombre.value;
  const status = document.getElementById("estado-envio");
  const textarea = form.elements.texto;
  let pending = [];

  function scrollDown() { list.scrollTop = list.scrollHeight; }
  scrollDown();

  const refresh = poll(
    () => list.dataset.poll + "?despues=" + list.dataset.last,
    (data) => {
      if (!data.messages.length) return;
      list.querySelector(".vacio")?.remove();
      for (const message of data.messages) {
        if (list.querySelector(`[data-id="${message.id}"]`)) continue;
        if (!message.from_bot && pending.length) pending.shift().remove();
        list.append(bubble(message, who));
        list.dataset.last = Math.max(Number(list.dataset.last), message.id);
      }
      scrollDown();
    },
  );

  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textarea.value;
    if (!text.trim()) { status.textContent = "Escribe un mensaje antes de enviarlo."; return; }
    const sending = bubble({ from_bot: false, body: text, id: "" }, who);
    sending.classList.add("enviando");
    list.querySelector(".vacio")?.remove();
    list.append(sending);
    pending.push(sending);
    scrollDown();
    status.textContent = "Enviando…";
    const data = new FormData(form);
    textarea.value = "";
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const answer = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      const body = await answer.json().catch(() => ({}));
      status.textContent = answer.ok && body.ok ? "Entregado al webhook." : (body.note || body.message || "No se pudo enviar.");
      status.className = "nota " + (answer.ok && body.ok ? "nota-info" : "nota-error");
    } catch (error) {
      status.textContent = "No se pudo enviar: ¿está encendido el servidor?";
      status.className = "nota nota-error";
    } finally {
      button.disabled = false;
      textarea.focus();
      refresh();
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupChat();
});

// -- character counts (Preview/Edit) ----------------------------------------------------
// "utf16": JavaScript's own string length (Twilio counts UTF-16 code units);
// "chars": Unicode code points, as Telegram and LinkedIn count.
function measure(text, unit) {
  return unit === "utf16" ? text.length : [...text].length;
}

function setupCounts() {
  for (const box of document.querySelectorAll("textarea[data-limit]")) {
    const output = document.getElementById(box.getAttribute("aria-describedby"));
    const count = output.querySelector("[data-count]");
    const limit = Number(box.dataset.limit);
    const update = () => {
      const used = measure(box.value, box.dataset.unit);
      count.textContent = used;
      output.classList.toggle("excede", used > limit);
    };
    box.addEventListener("input", update);
    update();
  }
}

// -- live statuses (Dashboard) ------------------------------------------------------------
function setupDashboard() {
  const table = document.getElementById("panel");
  if (!table) return;
  poll(() => table.dataset.poll, (data) => {
    for (const [id, pub] of Object.entries(data.publications)) {
      const row = table.querySelector(`tr[data-pub="${id}"]`);
      if (!row) continue;
      const status = row.querySelector('[data-field="status"] span');
      if (status.textContent === pub.status_name) continue;
      status.textContent = pub.status_name;
      status.className = "estado estado-" + pub.status;
      row.querySelector('[data-field="retries"]').textContent = pub.retries;
      if (pub.status !== "failed") row.querySelector('[data-field="error"]').textContent = pub.error;
      else window.location.reload(); // the row gains its Retry button
      const link = row.querySelector('[data-field="url"]');
      if (pub.url && !link.querySelector("a")) {
        const anchor = document.createElement("a");
        anchor.href = pub.url;
        anchor.textContent = "Ver publicación";
        link.append(anchor);
      }
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupCounts();
  setupDashboard();
});
