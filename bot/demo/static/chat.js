// POA Bot demo: a Telegram-like chat over the local Bot API stand-in (see bot/demo/web.py).
// One long poll at a time: /api/state answers when anything changed after `since`.
"use strict";

const state = {
  chat: null,            // user id of the person you are
  version: -1,           // stand-in version of the last state shown (-1: none yet)
  seen: {},              // chat id -> bot messages already seen (unread badges)
  rendered: "",          // messages of the chat as last drawn (redraw only on change)
  commands: [],
  controller: null,
  stopped: false,
};
const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  if (!response.ok) throw new Error((await response.text()) || response.statusText);
  return response.json();
}

// --- the long poll --------------------------------------------------------------------------
async function poll() {
  let failures = 0;
  while (!state.stopped) {
    const controller = new AbortController();
    state.controller = controller;
    const chat = state.chat;
    try {
      const response = await fetch(
        `/api/state?chat=${chat ?? ""}&since=${state.version}`, { signal: controller.signal });
      if (response.status === 503) { stop(await response.text()); return; }
      if (!response.ok) throw new Error(await response.text());
      const data = await response.json();
      failures = 0;
      if (chat !== state.chat) continue;  // switched person meanwhile: ask again
      render(data);
    } catch (error) {
      if (error.name === "AbortError") continue;
      failures += 1;
      if (failures >= 3) { stop("Se perdió la conexión con la demo."); return; }
      await new Promise((resolve) => setTimeout(resolve, 500 * failures));
    }
  }
}

function stop(text) {
  state.stopped = true;
  $("offline-note").textContent = `${text} Vuelve a ejecutar poa-bot demo para otra sesión.`;
  $("composer-text").disabled = true;
}

function switchTo(userId) {
  if (state.chat === userId) return;
  state.chat = userId;
  state.version = -1;
  state.rendered = "";
  hideCommands();
  history.replaceState(null, "", `#chat=${userId}`);
  if (state.controller) state.controller.abort();
  $("composer-text").focus();
}

// --- drawing --------------------------------------------------------------------------------
function render(data) {
  const previous = state.version;
  const firstOfChat = state.chat === null || previous < 0;
  state.chat = data.chat.id;
  state.version = data.version;
  renderClock(data.clock);
  $("bot-api").textContent = data.bot_api.replace(/^https?:\/\//, "");
  renderPeople(data.people);
  state.commands = data.chat.commands;
  renderMessages(data.chat.messages, firstOfChat);
  if (!firstOfChat) {
    for (const answer of data.chat.answers) {
      if (answer.version > previous) (answer.alert ? showAlert : toast)(answer.text);
    }
  }
}

function renderClock(clock) {
  $("clock-now").textContent = clock.label;
  $("clock-now").dataset.now = clock.now;
  const select = $("clock-jumps");
  const wanted = clock.jumps.map((j) => `${j.at}|${j.label}`).join("\n");
  if (select.dataset.jumps !== wanted) {
    select.replaceChildren(...clock.jumps.map((jump) => {
      const option = document.createElement("option");
      option.value = jump.at;
      option.textContent = jump.label;
      return option;
    }));
    select.dataset.jumps = wanted;
  }
  if (document.activeElement !== $("clock-input")) $("clock-input").value = clock.input;
}

function renderPeople(people) {
  const list = $("people-list");
  list.replaceChildren(...people.map((person) => {
    if (person.id === state.chat) state.seen[person.id] = person.bot_messages;
    const unread = person.bot_messages - (state.seen[person.id] ?? 0);
    const item = document.createElement("li");
    const button = element("button", "person" + (person.id === state.chat ? " active" : ""));
    button.type = "button";
    button.dataset.user = person.id;
    button.append(avatar(person));
    const who = element("div", "who");
    who.append(element("div", "name", person.name), element("div", "detail", person.detail));
    button.append(who);
    if (unread > 0) button.append(element("span", "badge", String(unread)));
    button.addEventListener("click", () => switchTo(person.id));
    item.append(button);
    if (person.id === state.chat) {
      $("chat-title").textContent = person.name;
      $("chat-subtitle").textContent = `${person.detail} · hablando con @poa_demo_bot`;
      $("chat-avatar").replaceWith(Object.assign(avatar(person), { id: "chat-avatar" }));
    }
    return item;
  }));
}

function avatar(person) {
  const initials = person.role === "gerente" ? "G" : person.name.replace(/\D/g, "").slice(0, 3);
  return element("div", "avatar" + (person.role === "gerente" ? " gerente" : ""), initials || "C");
}

function renderMessages(messages, firstOfChat) {
  const drawn = JSON.stringify(messages);
  if (drawn === state.rendered) return;
  state.rendered = drawn;
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  if (!messages.length) {
    box.replaceChildren(element("div", "empty",
      "Todavía no hay mensajes. Escribe /start o abre ☰ Menú para ver los comandos."));
    return;
  }
  box.replaceChildren(...messages.map(messageElement));
  if (firstOfChat || atBottom) box.scrollTop = box.scrollHeight;
  for (const img of box.querySelectorAll("img.photo")) {
    img.addEventListener("load", () => { if (firstOfChat || atBottom) box.scrollTop = box.scrollHeight; });
  }
}

function messageElement(message) {
  const wrapper = element("div", `message ${message.from}`);
  wrapper.dataset.id = message.id;
  const bubble = element("div", "bubble");
  if (message.photo) {
    const img = element("img", "photo");
    img.src = `/api/files/${encodeURIComponent(message.photo.file_id)}`;
    img.alt = message.text || "imagen";
    img.addEventListener("click", () => window.open(img.src, "_blank", "noopener"));
    bubble.append(img);
  }
  if (message.document) bubble.append(documentElement(message.document));
  if (message.text) {
    const text = element("div", "text");
    text.append(renderText(message.text, message.entities));
    bubble.append(text);
  }
  bubble.append(element("div", "meta", (message.edited ? "editado · " : "") + message.date));
  wrapper.append(bubble);
  if (message.buttons.length) wrapper.append(keyboard(message));
  return wrapper;
}

function documentElement(doc) {
  const box = element("div", "document");
  box.append(element("div", "icon", "📄"));
  const info = element("div", "");
  info.append(element("div", "file-name", doc.name),
              element("div", "file-size", `${(doc.size / 1024).toFixed(1)} KB`));
  const link = element("a", "download", "Descargar");
  link.href = `/api/files/${encodeURIComponent(doc.file_id)}`;
  link.download = doc.name;
  info.append(link);
  box.append(info);
  return box;
}

function keyboard(message) {
  const box = element("div", "keyboard");
  for (const row of message.buttons) {
    const line = element("div", "row");
    for (const button of row) {
      if (button.url) {
        const link = element("a", "", `${button.text} ↗`);
        link.href = button.url;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        line.append(link);
        continue;
      }
      const press = element("button", "", button.text);
      press.type = "button";
      press.addEventListener("click", () => {
        api("/api/press", { chat: state.chat, message_id: message.id, data: button.data })
          .catch((error) => toast(error.message));
      });
      line.append(press);
    }
    box.append(line);
  }
  return box;
}

// Telegram entities (offsets in UTF-16 code units, like JavaScript strings) to DOM nodes;
// text is never parsed as HTML.
const TAGS = {
  bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  blockquote: "blockquote", expandable_blockquote: "blockquote", text_link: "a", spoiler: "span",
};

function renderText(text, entities) {
  const fragment = document.createDocumentFragment();
  const cuts = new Set([0, text.length]);
  for (const e of entities) { cuts.add(e.offset); cuts.add(e.offset + e.length); }
  const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  for (let i = 0; i + 1 < points.length; i++) {
    const [start, end] = [points[i], points[i + 1]];
    let node = document.createTextNode(text.slice(start, end));
    for (const e of entities) {
      if (e.offset <= start && e.offset + e.length >= end && TAGS[e.type]) node = wrap(node, e);
    }
    fragment.append(node);
  }
  return fragment;
}

function wrap(node, entity) {
  const outer = document.createElement(TAGS[entity.type]);
  if (entity.type === "text_link" && /^(https?|tg):/i.test(entity.url || "")) {
    outer.href = entity.url;
    outer.target = "_blank";
    outer.rel = "noopener noreferrer";
  }
  if (entity.type === "spoiler") {
    outer.className = "spoiler";
    outer.addEventListener("click", () => outer.classList.add("shown"));
  }
  outer.append(node);
  return outer;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- commands menu --------------------------------------------------------------------------
function showCommands(filter) {
  const shown = state.commands.filter((c) => `/${c.command}`.startsWith(filter || "/"));
  const box = $("commands");
  if (!shown.length) { hideCommands(); return; }
  box.replaceChildren(...shown.map((c) => {
    const item = element("button", "command");
    item.type = "button";
    item.dataset.command = c.command;
    item.append(element("span", "cmd", `/${c.command}`), element("span", "desc", c.description));
    item.addEventListener("click", () => { hideCommands(); send(`/${c.command}`); });
    return item;
  }));
  box.hidden = false;
  $("messages").scrollTop = $("messages").scrollHeight;  // the list takes room from the chat
}

function hideCommands() { $("commands").hidden = true; }

// --- sending and the clock ------------------------------------------------------------------
async function send(text) {
  try {
    await api("/api/send", { chat: state.chat, text });
  } catch (error) {
    toast(error.message);
  }
}

async function moveClock(at) {
  if (!at) return;
  try {
    toast((await api("/api/clock", { at })).message);
  } catch (error) {
    toast(error.message);
  }
}

let toastTimer = null;
function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { box.hidden = true; }, 5000);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  $("alert").hidden = false;
}

function start() {
  const match = /chat=(\d+)/.exec(location.hash);
  if (match) state.chat = Number(match[1]);
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("composer-text");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    hideCommands();
    send(text);
  });
  $("composer-text").addEventListener("input", (event) => {
    const value = event.target.value;
    if (value.startsWith("/") && !value.includes(" ")) showCommands(value); else hideCommands();
  });
  $("menu-button").addEventListener("click", () => {
    if ($("commands").hidden) showCommands("/"); else hideCommands();
  });
  $("clock-jump").addEventListener("click", () => moveClock($("clock-jumps").value));
  $("clock-set").addEventListener("click", () => moveClock($("clock-input").value));
  $("alert-ok").addEventListener("click", () => { $("alert").hidden = true; });
  poll();
}

start();
