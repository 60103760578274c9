/** A tiny page: log in, then chat in the lobby over /chat/connect (the session cookie goes with the upgrade). */
export const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>Acme, now with chat</title>
<form id="login"><input name="name" placeholder="your name" required> <button>Log in</button></form>
<ul id="log"></ul>
<form id="say" hidden><input name="text" autocomplete="off"> <button>Say</button></form>
<script type="module">
const log = document.getElementById("log");
const show = (text) => log.append(Object.assign(document.createElement("li"), { textContent: text }));
let socket;
function connect() {
  socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/chat/connect");
  socket.onmessage = ({ data }) => {
    const frame = JSON.parse(data);
    if (frame.context === "user" && !frame.event) show(frame.message.user + ": " + frame.message.text);
    else if (frame.context === "response" && frame.status === "error") show("(" + frame.error + ")");
    else if (frame.welcome) show(frame.welcome);
  };
  document.getElementById("say").hidden = false;
}
document.getElementById("login").onsubmit = async (event) => {
  event.preventDefault();
  const name = new FormData(event.target).get("name");
  const answer = await fetch("/login", { method: "POST", body: JSON.stringify({ name }) });
  if (answer.ok) connect(); else show((await answer.json()).error);
};
document.getElementById("say").onsubmit = (event) => {
  event.preventDefault();
  const input = event.target.elements.text;
  socket.send(JSON.stringify({ event: "say", message: input.value }));
  show("me: " + input.value);
  input.value = "";
};
fetch("/me").then((answer) => answer.ok && connect());
</script>
`;
