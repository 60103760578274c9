/** The demo chat page (public/index.html): join a room, chat, listen to other rooms, see who is here. */
import { isValidRoomName, type ChatMessage } from "../../protocol/index.js";
import { EdgechatClient, EdgechatError, sameOriginConnectUrl } from "../../client/index.js";
import { byId } from "./dom.js";
import { MessageList } from "./messageList.js";
import { NameBook, shortId } from "./names.js";
import { makePayload, readPayload } from "./payload.js";
import { SidePanel } from "./sidePanel.js";
import { showStatus } from "./statusView.js";

const NAME_KEY = "edgechat.name";
const ROOM_KEY = "edgechat.room";

const joinView = byId("join-view");
const chatView = byId("chat-view");
const joinForm = byId<HTMLFormElement>("join-form");
const joinName = byId<HTMLInputElement>("join-name");
const joinRoom = byId<HTMLInputElement>("join-room");
const messageInput = byId<HTMLInputElement>("message-input");
const roomInput = byId<HTMLInputElement>("room-input");
const listenInput = byId<HTMLInputElement>("listen-input");
const nameInput = byId<HTMLInputElement>("name-input");
const alertBox = byId("alert");
const roomPanel = byId<HTMLDetailsElement>("room-panel");
const chatTitle = byId("chat-title");

const names = new NameBook();
const messages = new MessageList(byId<HTMLOListElement>("messages"), byId("empty"));
const side = new SidePanel(
  {
    roomName: byId("room-name"),
    count: byId("member-count"),
    countWord: byId("member-word"),
    members: byId<HTMLUListElement>("members"),
    listening: byId<HTMLUListElement>("listening"),
  },
  names,
  (room) => void silence(room),
);

let client: EdgechatClient | undefined;
let myName = "";

// ---- start ------------------------------------------------------------------------------------

joinName.value = localStorage.getItem(NAME_KEY) ?? "";
joinRoom.value = new URLSearchParams(location.search).get("room") ?? localStorage.getItem(ROOM_KEY) ?? joinRoom.value;
roomPanel.open = matchMedia("(min-width: 760px)").matches;
(joinName.value ? joinRoom : joinName).focus();

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void join(joinName.value.trim(), joinRoom.value.trim());
});

byId<HTMLFormElement>("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void send();
});

byId<HTMLFormElement>("room-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void switchRoom(roomInput.value.trim());
});

byId<HTMLFormElement>("listen-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void listen(listenInput.value.trim());
});

byId<HTMLFormElement>("name-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void rename(nameInput.value.trim());
});

// ---- actions ----------------------------------------------------------------------------------

async function join(name: string, room: string): Promise<void> {
  if (!name) return fail("Pick a name first.", joinName);
  if (!isValidRoomName(room)) return fail("Room names are 1–64 letters, digits or _ - . :", joinRoom);
  clearAlert();
  // since: 0 replays what the room still keeps, so a newcomer sees the conversation so far.
  const next = new EdgechatClient(sameOriginConnectUrl(), { room, since: 0 });
  wire(next);
  try {
    await next.connect();
  } catch (error) {
    return fail(`Could not join ${room}: ${describe(error)}`, joinRoom);
  }
  client = next;
  Object.assign(window, { edgechat: next }); // handy in the console
  myName = name;
  names.learn(next.id!, name);
  localStorage.setItem(NAME_KEY, name);
  localStorage.setItem(ROOM_KEY, room);
  nameInput.value = name;
  joinView.hidden = true;
  chatView.hidden = false;
  showRoom(room);
  side.showListening([]);
  messages.notice(`You joined ${room}`);
  messageInput.focus();
  try {
    await next.paramAdd("name", name);
  } catch (error) {
    messages.notice(`Could not save your name: ${describe(error)}`);
  }
  refreshMembers();
}

async function send(): Promise<void> {
  const text = messageInput.value;
  if (!client || text.trim() === "") return;
  messageInput.value = "";
  const item = messages.add({ who: myName || "You", text, sentAt: Date.now(), mine: true, from: client.id });
  item.classList.add("pending");
  item.setAttribute("aria-busy", "true");
  try {
    await client.say(makePayload(text, myName));
    item.classList.remove("pending");
    item.removeAttribute("aria-busy");
  } catch (error) {
    item.classList.replace("pending", "error");
    item.removeAttribute("aria-busy");
    item.append(Object.assign(document.createElement("p"), { className: "help", textContent: `Not sent: ${describe(error)}` }));
  }
}

async function switchRoom(room: string): Promise<void> {
  if (!client || !room) return;
  if (!isValidRoomName(room)) return fail("Room names are 1–64 letters, digits or _ - . :", roomInput);
  try {
    await client.roomChange(room, { since: 0 });
  } catch (error) {
    return fail(`Could not switch to ${room}: ${describe(error)}`, roomInput);
  }
  clearAlert();
  roomInput.value = "";
  localStorage.setItem(ROOM_KEY, room);
  showRoom(room);
  messages.notice(`You moved to ${room}`);
  refreshMembers();
}

async function listen(room: string): Promise<void> {
  if (!client || !room) return;
  if (!isValidRoomName(room)) return fail("Room names are 1–64 letters, digits or _ - . :", listenInput);
  try {
    await client.listenToRoom(room);
  } catch (error) {
    return fail(`Could not listen to ${room}: ${describe(error)}`, listenInput);
  }
  clearAlert();
  listenInput.value = "";
  side.showListening(client.listening);
  messages.notice(`Listening to ${room}`);
}

async function silence(room: string): Promise<void> {
  if (!client) return;
  try {
    await client.silenceRoom(room);
  } catch (error) {
    return fail(`Could not silence ${room}: ${describe(error)}`);
  }
  side.showListening(client.listening);
  messages.notice(`Stopped listening to ${room}`);
  listenInput.focus();
}

async function rename(name: string): Promise<void> {
  if (!client || !name) return;
  try {
    await client.paramAdd("name", name);
  } catch (error) {
    return fail(`Could not change your name: ${describe(error)}`, nameInput);
  }
  clearAlert();
  myName = name;
  localStorage.setItem(NAME_KEY, name);
  names.learn(client.id!, name);
  side.renderMembers();
  messages.notice(`You are now ${name}`);
}

function showRoom(room: string): void {
  side.showRoom(room);
  chatTitle.textContent = `Chat in ${room}`;
  document.title = `${room} · edgechat`;
}

// ---- events -----------------------------------------------------------------------------------

function wire(c: EdgechatClient): void {
  showStatus(byId("status"), byId("status-text"), c.status);
  c.on("status", ({ status }) => showStatus(byId("status"), byId("status-text"), status));
  c.on("message", (message) => show(c, message));
  c.on("join", (message) => notice(c, message, "joined"));
  c.on("leave", (message) => notice(c, message, "left"));
  c.on("direct", (message) => messages.notice(`Direct message: ${readPayload(message.message ?? message).text}`));
  c.on("close", (info) => {
    if (c !== client) return;
    if (info.willReconnect) messages.notice("Connection lost. Reconnecting…");
    else {
      messages.notice(`Disconnected${info.error ? `: ${describe(info.error)}` : ""}.`);
      fail("You are disconnected. Join again to continue.");
      chatView.hidden = true;
      joinView.hidden = false;
      client = undefined;
    }
  });
  c.on("reconnect", (info) => {
    if (c !== client) return;
    names.learn(info.id, myName);
    showRoom(info.room);
    side.showListening(info.listening);
    messages.notice(`Reconnected to ${info.room}${info.listening.length ? ` (listening to ${info.listening.join(", ")})` : ""}`);
    for (const failure of info.failures) messages.notice(`Could not restore: ${describe(failure)}`);
    refreshMembers();
  });
}

function show(c: EdgechatClient, message: ChatMessage): void {
  const { text, name } = readPayload(message.message);
  if (names.learn(message.from, name)) side.renderMembers();
  messages.add({
    who: names.label(message.from),
    text,
    sentAt: message.sentAt,
    from: message.from,
    ...(message.room !== c.room ? { room: message.room } : {}),
  });
}

function notice(c: EdgechatClient, message: ChatMessage, verb: string): void {
  if (message.room !== c.room) return; // presence in listened rooms is not shown
  messages.notice(`${names.known(message.from) ?? `Someone (${shortId(message.from)})`} ${verb}`, message.sentAt);
  refreshMembers();
}

let refreshing = false;
let refreshAgain = false;

/** Asks for the member list again; bursts of join/leave notices cost one request at a time. */
function refreshMembers(): void {
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  const c = client;
  if (!c) return;
  refreshing = true;
  c.roomView()
    .then((view) => {
      if (c === client && view.room === c.room) side.showMembers(view.members, view.membersCount, c.id);
    })
    .catch(() => undefined)
    .finally(() => {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        refreshMembers();
      }
    });
}

// ---- feedback ---------------------------------------------------------------------------------

function describe(error: unknown): string {
  if (error instanceof EdgechatError) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function fail(text: string, focus?: HTMLElement): void {
  alertBox.textContent = text;
  alertBox.hidden = false;
  focus?.focus();
}

function clearAlert(): void {
  alertBox.hidden = true;
  alertBox.textContent = "";
}
