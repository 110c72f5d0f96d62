// cam2mqtt web UI. Plain JavaScript, no build step.
//
// Every URL here is relative (no leading "/") so the page works behind Home
// Assistant ingress, which serves it under /api/hassio_ingress/<token>/.
// Routes live in the hash: "#/" is the grid, "#/camera/<id>" a camera page.
// Live updates come from the server-sent event stream "api/events"; nothing
// polls the server. Live images are MJPEG streams in <img> elements; a stream
// runs only while its image is on screen and the tab is visible, so the
// server's viewer count drops as soon as nobody looks.
'use strict';

(function () {
  const main = document.getElementById('main');
  const conn = document.getElementById('conn');

  /** id -> Camera, in the server's order. */
  const cameras = new Map();
  /** id -> sequence number of the last update applied (see reconcile()). */
  const stamps = new Map();
  let seq = 0;
  let loaded = false;
  let loadError = null;
  /** What is on screen: null, {kind: 'grid', ...} or {kind: 'camera', ...}. */
  let view = null;

  const STATUS_TEXT = {
    streaming: 'Streaming',
    connecting: 'Connecting',
    offline: 'Offline',
    auth_failed: 'Auth failed',
  };
  const PROTOCOL_TEXT = { demo: 'A9 demo mode', pppp: 'PPPP', tutk: 'Wyze (TUTK)' };
  const ORDER = ['snapshot', 'snapshot_interval', 'resolution', 'night_vision', 'light', 'ir_led', 'ptz', 'intercom', 'say', 'wifi', 'reboot'];
  const MAX_SNAPSHOT_INTERVAL = 3600;

  // ---------------------------------------------------------------- helpers

  /** h('tag', {attr: value, class: 'x', text: 'y', onclick: fn}, ...children) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) el.append(c);
    }
    return el;
  }

  function camUrl(id, rest) {
    return 'api/cameras/' + encodeURIComponent(id) + (rest ? '/' + rest : '');
  }

  function statusText(s) {
    return STATUS_TEXT[s] || String(s || 'unknown');
  }

  /** What an image without a picture says. */
  function waitingText(s) {
    return s === 'streaming' ? 'Waiting for the picture…' : statusText(s);
  }

  function badge(el, status) {
    el.className = 'badge ' + (STATUS_TEXT[status] ? status : 'offline');
    el.textContent = statusText(status);
  }

  function fpsText(cam) {
    // A camera that is not streaming shows no rate (its state keeps the last one).
    const fps = cam.status === 'streaming' && cam.state && typeof cam.state.fps === 'number' ? cam.state.fps : null;
    return fps === null ? '– fps' : fps.toFixed(1) + ' fps';
  }

  function protocolText(p) {
    return PROTOCOL_TEXT[p] || String(p || '');
  }

  function formatValue(v) {
    if (v === null || v === undefined || v === '') return '–';
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Math.round(v * 100) / 100);
    if (Array.isArray(v)) return v.length ? v.map(formatValue).join(', ') : '–';
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }

  function localTime(rfc3339) {
    const d = new Date(rfc3339);
    return isNaN(d) ? String(rfc3339) : d.toLocaleString();
  }

  function setResult(el, kind, text) {
    el.className = 'result ' + kind;
    el.textContent = text;
  }

  function has(cam, cmd) {
    return Array.isArray(cam.commands) && cam.commands.includes(cmd);
  }

  // ------------------------------------------------------- live image streams

  // A stream image keeps its URL in data-src; src is set only while it should
  // run. Removing src aborts the request, so the server sees the viewer leave.
  const visible = new WeakSet();
  const observer = 'IntersectionObserver' in window
    ? new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (e.isIntersecting) visible.add(e.target); else visible.delete(e.target);
        syncStream(e.target);
      }
    }, { rootMargin: '200px' })
    : null;

  function streamImg(url, alt) {
    const img = h('img', { alt, 'data-src': url, decoding: 'async' });
    img.addEventListener('error', () => {
      if (img.hasAttribute('src')) img.dataset.failed = '1';
      syncPlaceholder(img);
    });
    img.addEventListener('load', () => {
      delete img.dataset.failed;
      syncPlaceholder(img);
    });
    return img;
  }

  function shouldRun(img) {
    // After the page's load event: a stream never finishes loading, and one
    // started earlier would hold the load event (and the spinner) forever.
    return document.readyState === 'complete' && !document.hidden && img.isConnected &&
      (!observer || visible.has(img));
  }

  function syncStream(img) {
    if (shouldRun(img)) {
      if (!img.hasAttribute('src')) {
        delete img.dataset.failed;
        img.src = img.dataset.src;
      }
    } else if (img.hasAttribute('src')) {
      img.removeAttribute('src');
    }
    syncPlaceholder(img);
  }

  /** Starts a stream again (the camera came back): a new request. */
  function restartStream(img) {
    if (img.hasAttribute('src')) img.removeAttribute('src');
    syncStream(img);
  }

  function stopStream(img) {
    if (observer) observer.unobserve(img);
    visible.delete(img);
    img.removeAttribute('src');
  }

  function watchStream(img) {
    if (observer) observer.observe(img);
    else syncStream(img);
  }

  /** The text behind an image shows until it has a picture. */
  function syncPlaceholder(img) {
    const ph = img.parentElement && img.parentElement.querySelector('.placeholder');
    if (!ph) return;
    const shown = img.hasAttribute('src') && !img.dataset.failed && img.naturalWidth > 0;
    ph.hidden = shown;
    img.style.visibility = shown ? 'visible' : 'hidden';
    if (!shown) {
      const waiting = img.dataset.waiting || 'No picture';
      ph.textContent = img.dataset.failed ? 'No picture' : waiting;
    }
  }

  // Some browsers fire no load event per MJPEG frame; check now and then.
  setInterval(() => {
    for (const img of main.querySelectorAll('.media img')) syncPlaceholder(img);
  }, 1000);

  function syncAll() {
    for (const img of main.querySelectorAll('img[data-src]')) syncStream(img);
  }
  document.addEventListener('visibilitychange', syncAll);
  window.addEventListener('load', syncAll);

  function media(img, waiting) {
    img.dataset.waiting = waiting;
    const box = h('span', { class: 'media' }, h('span', { class: 'placeholder', text: waiting }), img);
    syncPlaceholder(img);
    return box;
  }

  function leaveView() {
    for (const img of main.querySelectorAll('img')) stopStream(img);
    view = null;
  }

  // ------------------------------------------------------------------- grid

  function showGrid() {
    document.title = 'Cameras · cam2mqtt';
    const heading = h('h1', { tabindex: '-1', text: 'Cameras' });
    if (!loaded) {
      main.replaceChildren(heading, h('p', { class: 'muted', text: loadError || 'Loading cameras…' }));
      view = { kind: 'grid', tiles: new Map(), list: null };
      return heading;
    }
    const list = h('ul', { class: 'grid', 'aria-label': 'Cameras' });
    view = { kind: 'grid', tiles: new Map(), list };
    for (const cam of cameras.values()) addTile(cam);
    main.replaceChildren(
      heading,
      cameras.size ? list : h('p', { class: 'muted', text: 'No cameras yet. Cameras appear here as the bridge finds them.' }),
    );
    for (const t of view.tiles.values()) watchStream(t.img);
    return heading;
  }

  function addTile(cam) {
    const img = streamImg(camUrl(cam.id, 'stream.mjpeg'), '');
    const t = {
      img,
      name: h('span', { class: 'tile-name' }),
      badge: h('span'),
      protocol: h('span'),
      fps: h('span'),
      error: h('span', { class: 'tile-error' }),
      status: cam.status,
    };
    const li = h('li', { 'data-camera': cam.id },
      h('a', { class: 'tile', href: '#/camera/' + encodeURIComponent(cam.id) },
        media(img, waitingText(cam.status)),
        h('span', { class: 'tile-body' },
          t.name,
          h('span', { class: 'tile-meta' }, t.badge, t.protocol, t.fps),
          t.error)));
    t.li = li;
    view.tiles.set(cam.id, t);
    view.list.append(li);
    updateTile(cam);
    return t;
  }

  function updateTile(cam) {
    const t = view.tiles.get(cam.id);
    t.name.textContent = cam.name || cam.id;
    badge(t.badge, cam.status);
    t.protocol.textContent = protocolText(cam.protocol);
    t.fps.textContent = fpsText(cam);
    const err = cam.status !== 'streaming' && cam.state && cam.state.last_error;
    t.error.textContent = err || '';
    t.img.dataset.waiting = waitingText(cam.status);
    t.img.parentElement.classList.toggle('stale', cam.status !== 'streaming');
    if (cam.status === 'streaming' && t.status !== 'streaming') restartStream(t.img);
    t.status = cam.status;
    syncPlaceholder(t.img);
  }

  function gridCamera(cam) {
    if (!view.list) return;
    if (view.tiles.has(cam.id)) {
      updateTile(cam);
    } else if (view.tiles.size === 0) {
      showGrid();
    } else {
      watchStream(addTile(cam).img);
    }
  }

  function gridRemoved(id) {
    const t = view.tiles.get(id);
    if (!t) return;
    stopStream(t.img);
    t.li.remove();
    view.tiles.delete(id);
    if (view.tiles.size === 0) showGrid();
  }

  // ------------------------------------------------------------ camera page

  function backLink() {
    return h('a', { class: 'back', href: '#/' }, h('span', { 'aria-hidden': 'true', text: '← ' }), 'All cameras');
  }

  function showCamera(id) {
    const cam = cameras.get(id);
    if (!cam) {
      document.title = 'Camera · cam2mqtt';
      const heading = h('h1', { tabindex: '-1', text: loaded ? 'Unknown camera' : 'Loading…' });
      main.replaceChildren(
        backLink(),
        heading,
        loaded ? h('p', { text: 'There is no camera "' + id + '".' }) : null,
        loadError ? h('p', { class: 'error-text', text: loadError }) : null,
      );
      view = { kind: 'camera', id, page: null };
      return heading;
    }
    document.title = (cam.name || cam.id) + ' · cam2mqtt';
    const name = cam.name || cam.id;
    const p = {
      heading: h('h1', { tabindex: '-1', text: name }),
      badge: h('span'),
      sub: h('p', { class: 'sub' }),
      live: streamImg(camUrl(id, 'stream.mjpeg'), 'Live view of ' + name),
      rtsp: h('p', { class: 'caption', id: 'rtsp-url' }),
      snapshot: h('img', { id: 'snapshot-img', alt: 'Last snapshot of ' + name }),
      snapshotCaption: h('p', { class: 'caption' }),
      lastError: h('p'),
      stateBody: h('tbody'),
      controls: h('div', { class: 'controls' }),
      controlUpdates: [],
      results: {},
      commandsKey: '',
      status: cam.status,
      snapshotAt: undefined,
    };
    p.live.id = 'live-img';
    p.snapshot.addEventListener('load', () => syncSnapshot(p));
    p.snapshot.addEventListener('error', () => syncSnapshot(p, true));
    view = { kind: 'camera', id, page: p };
    main.replaceChildren(
      backLink(),
      h('div', { class: 'title' }, p.heading, p.badge),
      p.sub,
      h('div', { class: 'page' },
        h('div', { class: 'col' },
          h('section', { class: 'card', 'aria-labelledby': 'live-h' },
            h('h2', { id: 'live-h', text: 'Live' }),
            media(p.live, waitingText(cam.status)),
            p.rtsp),
          h('section', { class: 'card', 'aria-labelledby': 'snap-h' },
            h('h2', { id: 'snap-h', text: 'Last snapshot' }),
            h('span', { class: 'media' }, h('span', { class: 'placeholder', text: 'No snapshot yet' }), p.snapshot),
            p.snapshotCaption)),
        h('div', { class: 'col' },
          h('section', { class: 'card', 'aria-labelledby': 'ctl-h' },
            h('h2', { id: 'ctl-h', text: 'Controls' }),
            p.controls),
          h('section', { class: 'card', 'aria-labelledby': 'err-h' },
            h('h2', { id: 'err-h', text: 'Last error' }),
            p.lastError),
          h('section', { class: 'card', 'aria-labelledby': 'state-h' },
            h('h2', { id: 'state-h', text: 'State' }),
            h('table', { class: 'state', 'aria-labelledby': 'state-h' }, p.stateBody)))),
    );
    updatePage(cam);
    watchStream(p.live);
    return p.heading;
  }

  function updatePage(cam) {
    const p = view.page;
    const name = cam.name || cam.id;
    p.heading.textContent = name;
    document.title = name + ' · cam2mqtt';
    badge(p.badge, cam.status);
    const viewers = typeof cam.viewers === 'number' ? cam.viewers : 0;
    p.sub.textContent = [protocolText(cam.protocol), cam.model, cam.uid,
      viewers + (viewers === 1 ? ' viewer' : ' viewers')].filter(Boolean).join(' · ');
    p.live.dataset.waiting = waitingText(cam.status);
    p.live.parentElement.classList.toggle('stale', cam.status !== 'streaming');
    if (cam.status === 'streaming' && p.status !== 'streaming') restartStream(p.live);
    p.status = cam.status;
    syncPlaceholder(p.live);

    // The camera's own stream, for VLC, Home Assistant, Frigate, go2rtc.
    const rtsp = cam.state && cam.state.rtsp_url;
    p.rtsp.hidden = !rtsp;
    if (rtsp && p.rtsp.dataset.url !== rtsp) {
      p.rtsp.dataset.url = rtsp;
      p.rtsp.replaceChildren('RTSP: ', h('code', { text: rtsp }));
    }

    const at = cam.last_snapshot_at || (cam.state && cam.state.last_snapshot_at) || null;
    setSnapshot(cam.id, at);

    const err = cam.state && cam.state.last_error;
    p.lastError.className = err ? 'error-text' : 'muted';
    p.lastError.textContent = err || 'None';

    renderState(p.stateBody, cam.state);

    const key = (cam.commands || []).join(',') + '|' + (cam.resolutions || []).join(',') +
      '|' + (cam.night_vision_modes || []).join(',');
    if (key !== p.commandsKey) {
      p.commandsKey = key;
      renderControls(cam);
    }
    for (const u of p.controlUpdates) u(cam);
  }

  /**
   * Shows the snapshot taken at `at`. A snapshot event (`fresh`) always
   * loads the picture again: two snapshots can share a timestamp.
   */
  function setSnapshot(id, at, fresh) {
    const p = view.page;
    if (!at || (at === p.snapshotAt && !fresh)) return;
    let url = camUrl(id, 'snapshot.jpg') + '?t=' + encodeURIComponent(at);
    if (at === p.snapshotAt) {
      p.snapshotLoads = (p.snapshotLoads || 0) + 1;
      url += '&n=' + p.snapshotLoads;
    }
    p.snapshotAt = at;
    p.snapshot.src = url;
    p.snapshotCaption.textContent = 'Taken ' + localTime(at);
  }

  function syncSnapshot(p, failed) {
    const ph = p.snapshot.parentElement.querySelector('.placeholder');
    const shown = !failed && p.snapshot.naturalWidth > 0;
    ph.hidden = shown;
    p.snapshot.style.visibility = shown ? 'visible' : 'hidden';
    if (failed) ph.textContent = 'Snapshot not available';
  }

  function renderState(tbody, state) {
    if (!state || typeof state !== 'object') {
      tbody.replaceChildren(h('tr', {}, h('td', { colspan: '2', class: 'muted', text: 'No state yet' })));
      return;
    }
    tbody.replaceChildren(...Object.entries(state).map(([k, v]) =>
      h('tr', {}, h('th', { scope: 'row', text: k }), h('td', { text: formatValue(v) }))));
  }

  // --------------------------------------------------------------- commands

  /** pending[command] = number of requests in flight; recent[command] = when the last ended. */
  const pending = {};
  const recent = {};

  /** POSTs a command; shows its result in `res`; resolves to true on success. */
  async function send(id, command, body, res, okText, buttons) {
    pending[command] = (pending[command] || 0) + 1;
    for (const b of buttons || []) b.disabled = true;
    setResult(res, 'busy', 'Sending…');
    let ok = false;
    try {
      const r = await fetch(camUrl(id, 'commands/' + encodeURIComponent(command)), {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain;charset=utf-8', 'X-Requested-With': 'cam2mqtt-ui' },
        body,
        cache: 'no-store',
      });
      let j = null;
      try { j = await r.json(); } catch (_) { /* not JSON */ }
      if (r.ok && (!j || j.ok !== false)) {
        ok = true;
        setResult(res, 'ok', okText);
      } else {
        setResult(res, 'err', (j && j.error) || ('HTTP ' + r.status + (r.statusText ? ' ' + r.statusText : '')));
      }
    } catch (e) {
      setResult(res, 'err', 'Network error: ' + (e && e.message ? e.message : e));
    } finally {
      pending[command] -= 1;
      recent[command] = Date.now();
      for (const b of buttons || []) b.disabled = false;
    }
    return ok;
  }

  /** A command event from elsewhere (Home Assistant, MQTT, another browser). */
  function commandEvent(ev) {
    if (takeReport(ev)) return;
    if (!view || view.kind !== 'camera' || !view.page || ev.camera !== view.id) return;
    const cmd = String(ev.command || '');
    const group = cmd.startsWith('wifi') ? 'wifi' : cmd;
    const res = view.page.results[group];
    if (!res) return;
    if ((pending[cmd] || 0) > 0 || Date.now() - (recent[cmd] || 0) < 3000) return;
    if (ev.ok) setResult(res, 'ok', 'Done (sent by another client)');
    else setResult(res, 'err', ev.error || 'Failed');
  }

  function resultEl(group) {
    const el = h('p', { class: 'result', role: 'status', 'aria-live': 'polite' });
    view.page.results[group] = el;
    return el;
  }

  /** Marks a field as edited so live updates leave it alone. */
  function editable(el) {
    el.addEventListener('input', () => { el.dataset.dirty = '1'; });
    el.addEventListener('change', () => { el.dataset.dirty = '1'; });
    return el;
  }

  function untouched(el) {
    return !el.dataset.dirty && document.activeElement !== el;
  }

  function fillSelect(select, values, current) {
    const have = Array.from(select.options, (o) => o.value);
    const want = values.map(String);
    if (current && !want.includes(current)) want.unshift(current);
    if (have.join('\n') !== want.join('\n')) {
      select.replaceChildren(...want.map((v) => h('option', { value: v, text: v })));
    }
    if (current && untouched(select)) select.value = current;
  }

  // --------------------------------------------------------------- intercom

  // The answer to a playback (HTTP or the talk socket) says only whether it
  // worked; its event on the stream says how much was played. A request
  // waits for the first playback event of its camera and command after it
  // was sent (playbacks of one camera end in the order they were asked for).
  const reportWaiters = [];

  function awaitReport(camera, command) {
    const w = { camera, command, ev: null, done: null };
    reportWaiters.push(w);
    return w;
  }

  function dropWaiter(w) {
    const i = reportWaiters.indexOf(w);
    if (i >= 0) reportWaiters.splice(i, 1);
  }

  /** Hands a playback event to the request waiting for it; true if one was. */
  function takeReport(ev) {
    if (!ev.playback) return false;
    const w = reportWaiters.find((x) => x.camera === ev.camera && x.command === ev.command && !x.ev);
    if (!w) return false;
    w.ev = ev;
    if (w.done) { dropWaiter(w); w.done(ev); }
    return true;
  }

  /** Calls fn with the request's playback event, now or when it comes (at most 5 s). */
  function withReport(w, fn) {
    if (w.ev) { dropWaiter(w); fn(w.ev); return; }
    w.done = fn;
    setTimeout(() => dropWaiter(w), 5000);
  }

  function seconds(s) {
    return (Math.round(Number(s) * 10) / 10).toFixed(1) + ' s';
  }

  /** "Played x (1.0 s)" or "Stopped x after 1.2 s of 10.0 s". */
  function playbackText(what, pb) {
    if (pb.stopped) {
      return 'Stopped ' + what + ' after ' + seconds(pb.played_s) +
        (pb.duration_s > pb.played_s ? ' of ' + seconds(pb.duration_s) : '');
    }
    return 'Played ' + what + ' (' + seconds(pb.played_s) + ')';
  }

  /** Shows a playback's result, then what its event says was played. */
  function showPlayback(res, report, ok, error, what) {
    if (ok) {
      setResult(res, 'ok', 'Played ' + what);
      withReport(report, (ev) => setResult(res, ev.ok ? 'ok' : 'err',
        ev.ok ? playbackText(what, ev.playback) : (ev.error || 'Failed')));
    } else {
      setResult(res, 'err', error);
      // A refused request never plays; a failed one may have played a part.
      if (report.ev) withReport(report, (ev) => setResult(res, 'err', error + ' (after ' + seconds(ev.playback.played_s) + ')'));
      else dropWaiter(report);
    }
  }

  /** POSTs a playback; the answer comes when it ends. */
  async function intercomPost(id, rest, init, res, buttons, what) {
    pending.intercom = (pending.intercom || 0) + 1;
    for (const b of buttons) b.disabled = true;
    setResult(res, 'busy', 'Playing ' + what + '…');
    const report = awaitReport(id, 'intercom');
    let ok = false;
    let error = '';
    try {
      const r = await fetch(camUrl(id, rest), Object.assign({ method: 'POST', cache: 'no-store' }, init));
      let j = null;
      try { j = await r.json(); } catch (_) { /* not JSON */ }
      ok = r.ok && (!j || j.ok !== false);
      if (!ok) error = (j && j.error) || ('HTTP ' + r.status);
    } catch (e) {
      error = 'Network error: ' + (e && e.message ? e.message : e);
    } finally {
      pending.intercom -= 1;
      recent.intercom = Date.now();
      for (const b of buttons) b.disabled = false;
    }
    showPlayback(res, report, ok, error, what);
  }

  const INTERCOM_STATES = { idle: 'Idle', playing: 'Playing', talking: 'Talking' };

  /** A file or URL to play, volume, mode, stop, push-to-talk, and the speaker's state. */
  function intercomBlock(cam, uid) {
    const id = cam.id;
    const p = view.page;
    const res = resultEl('intercom');
    const state = h('span', { class: 'badge offline', id: uid('ic-state'), 'data-state': 'idle', text: 'Idle' });
    const file = h('input', { type: 'file', id: uid('ic-file'), accept: 'audio/*,.wav,.mp3,.ogg,.flac,.aac,.m4a' });
    const playFile = h('button', { type: 'button', id: uid('ic-play-file'), text: 'Play file' });
    const url = editable(h('input', {
      type: 'url', id: uid('ic-url'), placeholder: 'Link to an audio file', inputmode: 'url',
      autocapitalize: 'none', spellcheck: 'false',
    }));
    const playUrl = h('button', { type: 'button', id: uid('ic-play-url'), text: 'Play link' });
    const volume = h('input', {
      type: 'range', id: uid('ic-vol'), min: '0', max: '200', step: '5', value: '100', 'aria-valuetext': '100%',
    });
    const volOut = h('output', { for: volume.id, class: 'vol-out', text: '100%' });
    volume.addEventListener('input', () => {
      volOut.textContent = volume.value + '%';
      volume.setAttribute('aria-valuetext', volume.value + '%');
    });
    const mode = h('select', { id: uid('ic-mode') },
      h('option', { value: 'refuse', text: 'Refuse' }),
      h('option', { value: 'queue', text: 'Queue' }),
      h('option', { value: 'replace', text: 'Replace it' }));
    const stop = h('button', { type: 'button', class: 'danger', id: uid('ic-stop'), text: 'Stop' });
    const ptt = h('button', {
      type: 'button', class: 'ptt', 'aria-pressed': 'false', id: uid('ic-ptt'),
      'aria-describedby': uid('ic-ptt-hint'), text: 'Hold to talk',
    });
    const buttons = [playFile, playUrl];
    const vol = () => Number(volume.value) / 100;

    playFile.addEventListener('click', () => {
      const f = file.files && file.files[0];
      if (!f) { setResult(res, 'err', 'Choose an audio file first'); file.focus(); return; }
      const q = '?volume=' + encodeURIComponent(String(vol())) + '&mode=' + encodeURIComponent(mode.value);
      intercomPost(id, 'intercom' + q, {
        headers: { 'Content-Type': 'application/octet-stream', 'X-Requested-With': 'cam2mqtt-ui' },
        body: f,
      }, res, buttons, f.name);
    });
    playUrl.addEventListener('click', () => {
      const u = url.value.trim();
      if (!u) { setResult(res, 'err', 'Enter a link first'); url.focus(); return; }
      intercomPost(id, 'intercom', {
        headers: { 'Content-Type': 'application/json', 'X-Requested-With': 'cam2mqtt-ui' },
        body: JSON.stringify({ url: u, volume: vol(), mode: mode.value }),
      }, res, buttons, 'the link');
    });
    stop.addEventListener('click', async () => {
      const mine = (pending.intercom || 0) > 0;
      pending.intercom = (pending.intercom || 0) + 1;
      try {
        const r = await fetch(camUrl(id, 'intercom/stop'), {
          method: 'POST', cache: 'no-store', headers: { 'X-Requested-With': 'cam2mqtt-ui' },
        });
        let j = null;
        try { j = await r.json(); } catch (_) { /* not JSON */ }
        if (!r.ok || (j && j.ok === false)) setResult(res, 'err', (j && j.error) || ('HTTP ' + r.status));
        // Our own playback says itself that it stopped.
        else if (!mine) setResult(res, 'ok', 'Stopped');
      } catch (e) {
        setResult(res, 'err', 'Network error: ' + (e && e.message ? e.message : e));
      } finally {
        pending.intercom -= 1;
        recent.intercom = Date.now();
      }
    });
    pushToTalk(id, ptt, res);
    p.controlUpdates.push((c) => {
      const s = (c.state && c.state.intercom) || 'idle';
      state.textContent = INTERCOM_STATES[s] || String(s);
      state.dataset.state = s;
      state.className = 'badge ' + (s === 'idle' ? 'offline' : s === 'talking' ? 'connecting' : 'streaming');
    });
    return h('div', { class: 'ctl intercom', 'data-command': 'intercom', role: 'group', 'aria-labelledby': uid('ic-l') },
      h('div', { class: 'row' },
        h('span', { class: 'ctl-label', id: uid('ic-l'), text: 'Intercom' }),
        h('span', { class: 'sr-only', text: 'speaker:' }), state),
      h('div', { class: 'row' }, ptt, stop),
      h('p', { class: 'hint', id: uid('ic-ptt-hint'), text: 'Hold the button (or Space) and speak; let go to finish. The browser asks for the microphone.' }),
      h('label', { for: file.id, class: 'sub-label', text: 'Play an audio file' }),
      h('div', { class: 'row' }, file, playFile),
      h('label', { for: url.id, class: 'sub-label', text: 'Or a link to one (http or https)' }),
      h('div', { class: 'row' }, url, playUrl),
      h('div', { class: 'row' },
        h('span', { class: 'pair volume' }, h('label', { for: volume.id, text: 'Volume' }), volume, volOut),
        h('span', { class: 'pair' }, h('label', { for: mode.id, text: 'If busy' }), mode)),
      res);
  }

  /**
   * Turns blocks of float samples (one array per channel) into mono 16-bit
   * chunks of `size` samples; `emit` gets each chunk's ArrayBuffer. Also
   * the AudioWorklet's code (through toString), so it must use nothing
   * from this file.
   */
  function pcmChunker(size, emit) {
    let out = new Int16Array(size);
    let n = 0;
    return function push(channels) {
      const len = channels[0].length;
      for (let i = 0; i < len; i++) {
        let s = 0;
        for (let c = 0; c < channels.length; c++) s += channels[c][i];
        s /= channels.length;
        out[n++] = s < 0 ? Math.max(-32768, Math.round(s * 32768)) : Math.min(32767, Math.round(s * 32767));
        if (n === size) {
          emit(out.buffer);
          out = new Int16Array(size);
          n = 0;
        }
      }
    };
  }

  /** The AudioWorklet (loaded from a Blob URL: the UI is three files). */
  const PCM_WORKLET = pcmChunker.toString() + `
class Pcm extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.push = pcmChunker(options.processorOptions.size, (b) => this.port.postMessage(b, [b]));
  }
  process(inputs) {
    if (inputs[0] && inputs[0].length) this.push(inputs[0]);
    return true;
  }
}
registerProcessor('cam2mqtt-pcm', Pcm);
`;

  /** Why the microphone cannot be used, in words. */
  function micError(e) {
    const name = e && e.name;
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      return 'Microphone permission denied: allow the microphone for this page in the browser\'s site settings.';
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') return 'No microphone found.';
    if (name === 'NotReadableError') return 'The microphone is in use by another program.';
    return 'Cannot talk: ' + (e && e.message ? e.message : e);
  }

  /**
   * Push-to-talk: while the button is held (pointer, touch, or Space/Enter
   * when focused) the microphone goes to the camera over the talk
   * WebSocket as mono 16-bit PCM at the AudioContext's rate, in 25 ms
   * messages; letting go sends "stop", and the bridge answers once the
   * camera played it all.
   */
  function pushToTalk(id, btn, res) {
    let talk = null;

    function pressed(on) {
      btn.setAttribute('aria-pressed', String(on));
      btn.classList.toggle('on', on);
    }

    async function start() {
      if (talk) return;
      if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        setResult(res, 'err', 'The browser allows the microphone only on secure pages: open this UI over https (for example through Home Assistant) or on localhost.');
        return;
      }
      const t = { closed: false, answered: false, queue: [] };
      talk = t;
      pressed(true);
      setResult(res, 'busy', 'Talking…');
      try {
        // Made while the press is a user gesture, so it is allowed to run.
        const Ctx = window.AudioContext || window.webkitAudioContext;
        t.ctx = new Ctx();
        t.stream = await navigator.mediaDevices.getUserMedia({
          audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        });
        if (t.ctx.state === 'suspended') await t.ctx.resume();
        const rate = Math.round(t.ctx.sampleRate);
        openSocket(t, rate);
        const size = Math.max(1, Math.round(rate * 0.025));
        const send = (buf) => {
          if (t.ws.readyState === WebSocket.OPEN) t.ws.send(buf);
          else if (t.ws.readyState === WebSocket.CONNECTING) t.queue.push(buf);
        };
        const src = t.ctx.createMediaStreamSource(t.stream);
        // The node must reach the destination to be run; silently.
        const mute = t.ctx.createGain();
        mute.gain.value = 0;
        mute.connect(t.ctx.destination);
        if (t.ctx.audioWorklet && window.AudioWorkletNode) {
          const blob = URL.createObjectURL(new Blob([PCM_WORKLET], { type: 'text/javascript' }));
          try { await t.ctx.audioWorklet.addModule(blob); } finally { URL.revokeObjectURL(blob); }
          t.node = new AudioWorkletNode(t.ctx, 'cam2mqtt-pcm', {
            numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { size },
          });
          t.node.port.onmessage = (e) => send(e.data);
        } else {
          const push = pcmChunker(size, send);
          t.node = t.ctx.createScriptProcessor(1024, 1, 1);
          t.node.onaudioprocess = (e) => push([e.inputBuffer.getChannelData(0)]);
        }
        src.connect(t.node);
        t.node.connect(mute);
        if (t.closed) finish(t);
      } catch (e) {
        setResult(res, 'err', micError(e));
        if (talk === t) talk = null;
        release(t);
        if (t.ws) t.ws.close();
      }
    }

    function openSocket(t, rate) {
      const u = new URL(camUrl(id, 'talk?rate=' + rate), document.baseURI);
      u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
      const report = awaitReport(id, 'intercom');
      const ws = new WebSocket(u);
      t.ws = ws;
      ws.binaryType = 'arraybuffer';
      ws.onopen = () => {
        for (const b of t.queue) ws.send(b);
        t.queue = [];
      };
      ws.onmessage = (e) => {
        let j = null;
        try { j = JSON.parse(e.data); } catch (_) { return; }
        t.answered = true;
        recent.intercom = Date.now();
        if (j.ok) {
          setResult(res, 'ok', 'Talked to the camera');
          withReport(report, (ev) => {
            const pb = ev.playback;
            setResult(res, 'ok', pb.stopped
              ? 'Talk cut off after ' + seconds(pb.played_s)
              : 'Talked to the camera (' + seconds(pb.played_s) + ')');
          });
        } else {
          dropWaiter(report);
          setResult(res, 'err', j.error || 'Failed');
        }
      };
      ws.onclose = () => {
        if (!t.answered) {
          dropWaiter(report);
          setResult(res, 'err', 'The talk connection closed without an answer');
        }
        if (talk === t) { talk = null; release(t); }
      };
    }

    /** Stops the microphone; the socket stays for the answer. */
    function release(t) {
      if (t.stream) t.stream.getTracks().forEach((tr) => tr.stop());
      if (t.ctx && t.ctx.state !== 'closed') t.ctx.close().catch(() => {});
      if (talk === t || !talk) pressed(false);
    }

    /** Let go: the rest of the audio, then "stop". */
    function finish(t) {
      release(t);
      const ws = t.ws;
      if (!ws) return;
      const bye = () => { try { ws.send('stop'); } catch (_) { /* closed */ } };
      if (ws.readyState === WebSocket.OPEN) bye();
      else if (ws.readyState === WebSocket.CONNECTING) ws.addEventListener('open', bye, { once: true });
      if (!t.answered) setResult(res, 'busy', 'Finishing…');
    }

    function end() {
      const t = talk;
      if (!t || t.closed) return;
      t.closed = true;
      talk = null;
      // Still setting up: start() finishes once it is done.
      if (t.node) finish(t);
    }

    btn.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      e.preventDefault();
      try { btn.setPointerCapture(e.pointerId); } catch (_) { /* not capturable */ }
      start();
    });
    btn.addEventListener('pointerup', end);
    btn.addEventListener('pointercancel', end);
    btn.addEventListener('lostpointercapture', end);
    // A long press on a phone opens no menu.
    btn.addEventListener('contextmenu', (e) => e.preventDefault());
    btn.addEventListener('keydown', (e) => {
      if (e.key === ' ' || e.key === 'Enter') {
        e.preventDefault();
        if (!e.repeat) start();
      }
    });
    btn.addEventListener('keyup', (e) => {
      if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); end(); }
    });
    btn.addEventListener('blur', end);
  }

  function renderControls(cam) {
    const p = view.page;
    const id = cam.id;
    p.results = {};
    p.controlUpdates = [];
    const items = [];
    const uid = (s) => 'c-' + s;

    for (const cmd of ORDER) {
      if (cmd === 'wifi') {
        if (!has(cam, 'wifi') && !(has(cam, 'wifi_ssid') && has(cam, 'wifi_apply'))) continue;
      } else if (!has(cam, cmd)) {
        continue;
      }
      let block = null;
      if (cmd === 'snapshot') {
        const res = resultEl(cmd);
        const btn = h('button', { type: 'button', text: 'Take snapshot' });
        btn.addEventListener('click', async () => {
          if (await send(id, 'snapshot', 'PRESS', res, 'Snapshot taken', [btn])) refreshCamera(id);
        });
        block = h('div', { class: 'ctl', 'data-command': cmd },
          h('span', { class: 'ctl-label', id: uid('snap-l'), text: 'Snapshot' }),
          h('div', { class: 'row' }, btn), res);
      } else if (cmd === 'snapshot_interval') {
        const res = resultEl(cmd);
        const input = editable(h('input', {
          type: 'number', id: uid('interval'), min: '0', max: String(MAX_SNAPSHOT_INTERVAL),
          step: '1', inputmode: 'numeric', 'aria-describedby': uid('interval-hint'),
        }));
        const btn = h('button', { type: 'submit', text: 'Set' });
        const form = h('form', { class: 'ctl', 'data-command': cmd },
          h('label', { class: 'ctl-label', for: input.id, text: 'Snapshot interval (seconds)' }),
          h('div', { class: 'row' }, input, btn),
          h('p', { class: 'hint', id: uid('interval-hint'), text: '0 = only on demand; at most ' + MAX_SNAPSHOT_INTERVAL + '.' }),
          res);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const v = input.value.trim();
          if (await send(id, cmd, v, res, 'Interval set to ' + v + ' s', [btn])) delete input.dataset.dirty;
        });
        p.controlUpdates.push((c) => {
          const s = c.state && c.state.snapshot_interval_s;
          if (typeof s === 'number' && untouched(input)) input.value = String(s);
        });
        block = form;
      } else if (cmd === 'resolution' || cmd === 'night_vision') {
        const res = resultEl(cmd);
        const label = cmd === 'resolution' ? 'Resolution' : 'Night vision';
        const select = editable(h('select', { id: uid(cmd) }));
        const btn = h('button', { type: 'submit', text: 'Set' });
        const form = h('form', { class: 'ctl', 'data-command': cmd },
          h('label', { class: 'ctl-label', for: select.id, text: label }),
          h('div', { class: 'row' }, select, btn), res);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const v = select.value;
          if (await send(id, cmd, v, res, label + ' set to ' + v, [btn])) delete select.dataset.dirty;
        });
        const values = cmd === 'resolution' ? (cam.resolutions || []) : (cam.night_vision_modes || []);
        p.controlUpdates.push((c) => {
          const cur = c.state ? c.state[cmd] : null;
          fillSelect(select, values, cur === null || cur === undefined ? '' : String(cur));
        });
        block = form;
      } else if (cmd === 'light' || cmd === 'ir_led') {
        const res = resultEl(cmd);
        const label = cmd === 'light' ? 'Light' : 'Infrared LEDs';
        const sw = h('button', { type: 'button', role: 'switch', id: uid(cmd), 'aria-checked': 'false' });
        const lab = h('span', { class: 'ctl-label', id: uid(cmd + '-l'), text: label });
        sw.setAttribute('aria-labelledby', lab.id);
        sw.addEventListener('click', async () => {
          const next = sw.getAttribute('aria-checked') === 'true' ? 'off' : 'on';
          if (await send(id, cmd, next, res, label + ' ' + next, [sw])) {
            sw.setAttribute('aria-checked', String(next === 'on'));
            sw.textContent = next === 'on' ? 'On' : 'Off';
          }
        });
        p.controlUpdates.push((c) => {
          const v = c.state ? c.state[cmd] : null;
          sw.setAttribute('aria-checked', String(v === 'on'));
          sw.textContent = v === 'on' ? 'On' : v === 'off' ? 'Off' : 'Unknown';
        });
        block = h('div', { class: 'ctl', 'data-command': cmd }, lab, h('div', { class: 'row' }, sw), res);
      } else if (cmd === 'ptz') {
        const res = resultEl(cmd);
        const moves = [
          ['up', '▲', 'Tilt up'], ['left', '◀', 'Pan left'], ['home', 'Home', 'Home position'],
          ['right', '▶', 'Pan right'], ['down', '▼', 'Tilt down'], ['stop', 'Stop', 'Stop moving'],
        ];
        const buttons = moves.map(([m, sym, name]) =>
          h('button', { type: 'button', class: 'secondary ' + m, 'aria-label': name, 'data-move': m, text: sym }));
        const pad = h('div', { class: 'ptz', role: 'group', 'aria-labelledby': uid('ptz-l') }, buttons);
        const go = (m) => send(id, cmd, m, res, 'Moved ' + m, []);
        pad.addEventListener('click', (e) => {
          const b = e.target.closest('button[data-move]');
          if (b) go(b.dataset.move);
        });
        const keys = { ArrowUp: 'up', ArrowDown: 'down', ArrowLeft: 'left', ArrowRight: 'right', Home: 'home', Escape: 'stop' };
        pad.addEventListener('keydown', (e) => {
          if (keys[e.key]) { e.preventDefault(); go(keys[e.key]); }
        });
        block = h('div', { class: 'ctl', 'data-command': cmd },
          h('span', { class: 'ctl-label', id: uid('ptz-l'), text: 'Pan and tilt' }),
          pad,
          h('p', { class: 'hint', text: 'Arrow keys move, Home centres, Escape stops.' }),
          res);
      } else if (cmd === 'wifi') {
        const res = resultEl('wifi');
        const ssid = h('input', {
          type: 'text', id: uid('wifi-ssid'), name: 'ssid', required: true, autocomplete: 'off',
          autocapitalize: 'none', spellcheck: 'false',
        });
        const pw = h('input', {
          type: 'password', id: uid('wifi-password'), name: 'password', autocomplete: 'new-password',
          'aria-describedby': uid('wifi-hint'),
        });
        const btn = h('button', { type: 'submit', text: 'Send Wi-Fi settings' });
        const form = h('form', { class: 'ctl wifi', 'data-command': 'wifi', 'aria-labelledby': uid('wifi-l') },
          h('span', { class: 'ctl-label', id: uid('wifi-l'), text: 'Wi-Fi' }),
          h('label', { for: ssid.id }, 'Network name (SSID)', ssid),
          h('label', { for: pw.id }, 'Password', pw),
          h('p', { class: 'hint', id: uid('wifi-hint'), text: 'Leave the password empty for an open network. The camera leaves its current network to join this one.' }),
          h('div', { class: 'row' }, btn),
          res);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          let ok;
          if (has(cam, 'wifi')) {
            ok = await send(id, 'wifi', JSON.stringify({ ssid: ssid.value, password: pw.value }), res, 'Wi-Fi settings sent', [btn]);
          } else {
            ok = await send(id, 'wifi_ssid', ssid.value, res, 'SSID staged', [btn]) &&
              await send(id, 'wifi_password', pw.value, res, 'Password staged', [btn]) &&
              await send(id, 'wifi_apply', 'PRESS', res, 'Wi-Fi settings sent', [btn]);
          }
          if (ok) pw.value = '';
        });
        p.controlUpdates.push((c) => {
          const cur = c.state && c.state.wifi_ssid;
          ssid.placeholder = cur ? 'now: ' + cur : '';
        });
        block = form;
      } else if (cmd === 'intercom') {
        block = intercomBlock(cam, uid);
      } else if (cmd === 'say') {
        const res = resultEl(cmd);
        const input = editable(h('input', { type: 'text', id: uid('say'), maxlength: '1000', placeholder: 'Someone is at the door' }));
        const btn = h('button', { type: 'submit', text: 'Speak' });
        const form = h('form', { class: 'ctl', 'data-command': cmd },
          h('label', { class: 'ctl-label', for: input.id, text: 'Say (Home Assistant text-to-speech)' }),
          h('div', { class: 'row' }, input, btn), res);
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const t = input.value.trim();
          if (!t) return;
          const report = awaitReport(id, 'say');
          if (await send(id, cmd, t, res, 'Spoken', [btn])) {
            delete input.dataset.dirty;
            withReport(report, (ev) => {
              if (ev.ok) setResult(res, 'ok', 'Spoken (' + seconds(ev.playback.played_s) + ')');
            });
          } else {
            dropWaiter(report);
          }
        });
        block = form;
      } else if (cmd === 'reboot') {
        const res = resultEl(cmd);
        const btn = h('button', { type: 'button', class: 'danger', text: 'Reboot camera…' });
        btn.addEventListener('click', () => {
          if (!window.confirm('Reboot ' + (cam.name || cam.id) + '? Its stream stops until it is back.')) return;
          send(id, cmd, 'PRESS', res, 'Reboot sent', [btn]);
        });
        block = h('div', { class: 'ctl', 'data-command': cmd },
          h('span', { class: 'ctl-label', text: 'Reboot' }), h('div', { class: 'row' }, btn), res);
      }
      if (block) items.push(block);
    }
    p.controls.replaceChildren(...(items.length ? items : [h('p', { class: 'muted', text: 'This camera takes no commands.' })]));
  }

  // ------------------------------------------------------------- data flow

  function applyCamera(cam, stamp) {
    if (!cam || typeof cam.id !== 'string') return;
    cameras.set(cam.id, cam);
    stamps.set(cam.id, stamp);
    if (!view) return;
    if (view.kind === 'grid') gridCamera(cam);
    else if (view.id === cam.id) {
      if (view.page) updatePage(cam); else route(false);
    }
  }

  function removeCamera(id) {
    cameras.delete(id);
    stamps.delete(id);
    if (!view) return;
    if (view.kind === 'grid') gridRemoved(id);
    else if (view.id === id) route(false);
  }

  /** Applies a full camera list fetched when `since` was the newest event. */
  function reconcile(list, since) {
    const ids = new Set(list.map((c) => c.id));
    for (const id of Array.from(cameras.keys())) {
      if (!ids.has(id) && stamps.get(id) <= since) removeCamera(id);
    }
    for (const cam of list) {
      if (!cameras.has(cam.id) || stamps.get(cam.id) <= since) applyCamera(cam, since);
    }
  }

  async function loadCameras() {
    const since = seq;
    try {
      const r = await fetch('api/cameras', { cache: 'no-store' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const j = await r.json();
      const wasLoaded = loaded;
      loaded = true;
      loadError = null;
      if (!wasLoaded) route(false);
      reconcile(Array.isArray(j.cameras) ? j.cameras : [], since);
    } catch (e) {
      loadError = 'Cannot load cameras: ' + (e && e.message ? e.message : e);
      if (!loaded) route(false);
    }
  }

  async function refreshCamera(id) {
    const since = seq;
    try {
      const r = await fetch(camUrl(id), { cache: 'no-store' });
      if (!r.ok) return;
      const cam = await r.json();
      if ((stamps.get(id) || 0) <= since) applyCamera(cam, since);
    } catch (_) { /* the event stream brings it anyway */ }
  }

  function onSnapshot(ev, s) {
    const cam = cameras.get(ev.camera);
    if (!cam || !ev.taken_at) return;
    cam.last_snapshot_at = ev.taken_at;
    // Newer than any camera fetched before it: such a fetch must not undo it.
    stamps.set(ev.camera, s);
    if (view && view.kind === 'camera' && view.id === ev.camera && view.page) setSnapshot(ev.camera, ev.taken_at, true);
  }

  let source = null;
  let opened = false;

  function setConn(kind, text) {
    conn.className = 'conn ' + kind;
    conn.textContent = text;
  }

  function connect() {
    if (!('EventSource' in window)) {
      setConn('down', 'No live updates (browser lacks EventSource)');
      return;
    }
    source = new EventSource('api/events');
    const parse = (fn) => (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch (_) { return; }
      seq += 1;
      fn(data, seq);
    };
    source.addEventListener('open', () => {
      setConn('live', 'Live');
      // After a reconnect the server sends every camera again, but a camera
      // removed meanwhile would linger: reconcile with a fresh list.
      if (opened) loadCameras();
      opened = true;
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        setConn('down', 'Disconnected; retrying…');
        source.close();
        setTimeout(connect, 5000);
      } else {
        setConn('down', 'Reconnecting…');
      }
    });
    source.addEventListener('camera', parse((cam, s) => {
      if (!loaded) { loaded = true; route(false); }
      applyCamera(cam, s);
    }));
    source.addEventListener('removed', parse((d) => removeCamera(d.id)));
    source.addEventListener('command', parse(commandEvent));
    source.addEventListener('snapshot', parse(onSnapshot));
  }

  // ------------------------------------------------------------------ router

  function route(focus) {
    leaveView();
    const m = /^#\/camera\/(.+)$/.exec(location.hash);
    let heading;
    if (m) {
      let id;
      try { id = decodeURIComponent(m[1]); } catch (_) { id = m[1]; }
      heading = showCamera(id);
    } else {
      heading = showGrid();
    }
    if (focus && heading) heading.focus({ preventScroll: true });
    if (focus) window.scrollTo(0, 0);
  }

  // In-page links change only the hash. Behind ingress the server may add a
  // <base href>; a plain click on "#/..." would then load the page anew when
  // it was opened without a trailing slash.
  document.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest ? e.target.closest('a[href^="#"]') : null;
    if (!a) return;
    e.preventDefault();
    const hash = a.getAttribute('href');
    if (location.hash === hash) route(true); else location.hash = hash;
  });
  window.addEventListener('hashchange', () => route(true));
  route(false);
  loadCameras();
  connect();
})();
