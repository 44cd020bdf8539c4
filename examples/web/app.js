// A plain WebRTC client for examples/webrtc_browser.py: no build step, nothing from the internet.
// The microphone goes to the bot over an RTCPeerConnection (offer POSTed to /api/offer, host
// candidates only); the bot's audio plays in <audio>; transcripts and speaking states arrive as
// JSON on a data channel the page opens (Pipecat's SmallWebRTC uses the peer's channel).
"use strict";

const VOICED_RMS = 0.01; // analyser RMS (full scale 1.0) above which audio counts as sound
const REPLY_GAP_MS = 400; // bot quiet this long, then sound again: a new reply starts
const MESSAGE_TYPE = "gemini-live-event";

// Epoch milliseconds at sub-millisecond resolution, comparable with the server's clock.
const now = () => performance.timeOrigin + performance.now();

function newStats() {
  return { rms: 0, maxRms: 0, firstVoicedAt: null, lastVoicedAt: null, voicedMs: 0 };
}

// Test hooks (tests/test_webrtc_browser.py reads them); handy in the devtools console too.
const hooks = {
  state: "idle",
  connectedAt: null,
  transcript: [], // {role: "user" | "bot", text, at}
  speaking: { user: false, bot: false },
  speakingLog: [], // {role, speaking, at}: every change of the indicators
  ttfb: [], // the service's own measure per reply, seconds
  replies: [], // {userSpeechEndAt, botAudioAt, ms}: as heard in this page
  micStats: newStats(),
  botAudioStats: newStats(),
  errors: [],
};
window.geminiLive = hooks;
window.botAudioStats = hooks.botAudioStats;
window.micStats = hooks.micStats;

const $ = (id) => document.getElementById(id);
const lineElements = []; // parallel to hooks.transcript
let pc = null;
let mic = null;
let audioContext = null;
let meterTimer = null;
let meters = [];
let openLines = new Set(); // indices of lines still being added to

function setState(state) {
  hooks.state = state;
  $("state").textContent = state;
  $("state").dataset.state = state;
  $("connect").textContent = ["idle", "closed", "failed", "error", "disconnected"].includes(state)
    ? "Connect"
    : "Disconnect";
  if (state === "connected" && hooks.connectedAt === null) hooks.connectedAt = now();
}

function setSpeaking(role, speaking) {
  if (hooks.speaking[role] === speaking) return;
  hooks.speaking[role] = speaking;
  hooks.speakingLog.push({ role, speaking, at: now() });
  $(`${role}-speaking`).classList.toggle("on", speaking);
}

function addTranscript(role, text, spaced) {
  let index = hooks.transcript.length - 1;
  if (index < 0 || hooks.transcript[index].role !== role || !openLines.has(index)) {
    hooks.transcript.push({ role, text: "", at: now() });
    index = hooks.transcript.length - 1;
    openLines.add(index);
    const element = document.createElement("div");
    element.className = `line ${role}`;
    $("transcript").appendChild(element);
    lineElements.push(element);
  }
  const line = hooks.transcript[index];
  // The bot's pieces carry their own spaces; the user's arrive as whole sentences.
  line.text = spaced ? line.text + text : [line.text.trim(), text.trim()].filter(Boolean).join(" ");
  lineElements[index].textContent = line.text.trim();
}

function onMessage(data) {
  let message;
  try {
    message = JSON.parse(data);
  } catch {
    return;
  }
  if (message.type === "signalling" && message.message?.type === "peerLeft") {
    disconnect("closed");
    return;
  }
  if (message.type !== MESSAGE_TYPE) return;
  if (message.event === "transcript") {
    addTranscript(message.role, message.text, message.spaced);
  } else if (message.event === "speaking") {
    if (message.role === "user" && message.speaking) openLines = new Set(); // a new exchange
    setSpeaking(message.role, message.speaking);
  } else if (message.event === "interrupted") {
    openLines = new Set();
  } else if (message.event === "ttfb") {
    hooks.ttfb.push(message.seconds);
  }
}

// Levels of the microphone and of the bot's audio, measured every 10 ms with AnalyserNodes.
function meter(stream, stats) {
  const analyser = audioContext.createAnalyser();
  analyser.fftSize = 1024;
  audioContext.createMediaStreamSource(stream).connect(analyser);
  meters.push({ analyser, stats, buffer: new Float32Array(analyser.fftSize), at: now() });
  if (meterTimer === null) meterTimer = setInterval(measure, 10);
}

function measure() {
  const t = now();
  for (const m of meters) {
    m.analyser.getFloatTimeDomainData(m.buffer);
    let sum = 0;
    for (const x of m.buffer) sum += x * x;
    const rms = Math.sqrt(sum / m.buffer.length);
    const { stats } = m;
    stats.rms = rms;
    stats.maxRms = Math.max(stats.maxRms, rms);
    if (rms >= VOICED_RMS) {
      if (stats === hooks.botAudioStats) noteBotSound(t);
      if (stats.firstVoicedAt === null) stats.firstVoicedAt = t;
      stats.voicedMs += t - m.at;
      stats.lastVoicedAt = t;
    }
    m.at = t;
  }
}

function noteBotSound(t) {
  const bot = hooks.botAudioStats;
  const userEnd = hooks.micStats.lastVoicedAt;
  const newReply = bot.lastVoicedAt === null || t - bot.lastVoicedAt > REPLY_GAP_MS;
  const lastReply = hooks.replies[hooks.replies.length - 1];
  if (!newReply || userEnd === null || (lastReply && lastReply.userSpeechEndAt === userEnd)) return;
  const ms = t - userEnd;
  hooks.replies.push({ userSpeechEndAt: userEnd, botAudioAt: t, ms });
  $("latency").textContent = `Bot audio began ${Math.round(ms)} ms after you stopped speaking.`;
}

function iceGatheringDone(connection, timeoutMs) {
  if (connection.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (connection.iceGatheringState !== "complete") return;
      connection.removeEventListener("icegatheringstatechange", done);
      resolve();
    };
    connection.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, timeoutMs); // host candidates come at once; don't wait forever
  });
}

async function connect() {
  setState("connecting");
  audioContext = new AudioContext();
  // ?raw turns the browser's echo cancellation, noise suppression and gain control off.
  const raw = new URLSearchParams(location.search).has("raw");
  const processing = !raw;
  mic = await navigator.mediaDevices.getUserMedia({
    audio: {
      echoCancellation: processing,
      noiseSuppression: processing,
      autoGainControl: processing,
    },
  });
  meter(mic, hooks.micStats);

  pc = new RTCPeerConnection({ iceServers: [] });
  const channel = pc.createDataChannel("events", { ordered: true });
  channel.onmessage = (event) => onMessage(event.data);
  // Pipecat's SmallWebRTC expects its transceivers in this order: microphone, camera, screen.
  // This page sends no video; the two receive-only slots just keep the bot from warning.
  pc.addTransceiver(mic.getAudioTracks()[0], { direction: "sendrecv" });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (event) => {
    if (event.track.kind !== "audio") return;
    const stream = event.streams[0] || new MediaStream([event.track]);
    $("bot-audio").srcObject = stream; // also needed for Chrome to feed the analyser
    meter(stream, hooks.botAudioStats);
  };
  pc.onconnectionstatechange = () => {
    if (pc) setState(pc.connectionState);
  };

  await pc.setLocalDescription(await pc.createOffer());
  await iceGatheringDone(pc, 3000);
  const response = await fetch("/api/offer", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ sdp: pc.localDescription.sdp, type: pc.localDescription.type }),
  });
  if (!response.ok) throw new Error(`the bot refused the offer: HTTP ${response.status}`);
  const answer = await response.json();
  await pc.setRemoteDescription({ sdp: answer.sdp, type: answer.type });
}

function disconnect(state = "disconnected") {
  if (pc) pc.close();
  pc = null;
  if (mic) mic.getTracks().forEach((track) => track.stop());
  mic = null;
  if (meterTimer !== null) clearInterval(meterTimer);
  meterTimer = null;
  meters = [];
  if (audioContext) audioContext.close();
  audioContext = null;
  setSpeaking("user", false);
  setSpeaking("bot", false);
  setState(state);
}

let starting = false; // between the click and the bot's answer
$("connect").addEventListener("click", () => {
  if (pc) {
    disconnect();
    return;
  }
  if (starting) return;
  starting = true;
  connect()
    .catch((error) => {
      hooks.errors.push(String(error));
      disconnect("error");
      $("latency").textContent = String(error);
    })
    .finally(() => {
      starting = false;
    });
});
