// The sandbox console: a Slack-like client for the chatops bot. Plain browser JavaScript, no build step.
// It reads GET /api/state (for the selected user), follows GET /api/events (Server-Sent Events) and turns
// what a person does into POST /api/command, /api/action, /api/view-submission, /api/message.
'use strict';

(() => {
  // ── emoji ────────────────────────────────────────────────────────────────────────────────────────
  // prettier-ignore
  const EMOJI = {
    rocket: '🚀', white_check_mark: '✅', heavy_check_mark: '✔️', ballot_box_with_check: '☑️', x: '❌',
    negative_squared_cross_mark: '❎', warning: '⚠️', rotating_light: '🚨', hourglass_flowing_sand: '⏳',
    hourglass: '⌛', no_entry: '⛔', no_entry_sign: '🚫', octagonal_sign: '🛑', mag: '🔍', mag_right: '🔎',
    unlock: '🔓', lock: '🔒', closed_lock_with_key: '🔐', key: '🔑', red_circle: '🔴', large_green_circle: '🟢',
    green_circle: '🟢', large_yellow_circle: '🟡', yellow_circle: '🟡', large_blue_circle: '🔵', blue_circle: '🔵',
    large_orange_circle: '🟠', orange_circle: '🟠', white_circle: '⚪', black_circle: '⚫', purple_circle: '🟣',
    information_source: 'ℹ️', grey_question: '❔', question: '❓', grey_exclamation: '❕', exclamation: '❗',
    heavy_exclamation_mark: '❗', bangbang: '‼️', tada: '🎉', eyes: '👀', '+1': '👍', thumbsup: '👍', '-1': '👎',
    thumbsdown: '👎', fire: '🔥', boom: '💥', construction: '🚧', package: '📦', memo: '📝', clipboard: '📋',
    link: '🔗', bell: '🔔', gear: '⚙️', wrench: '🔧', hammer_and_wrench: '🛠️', shield: '🛡️', cloud: '☁️',
    robot_face: '🤖', stopwatch: '⏱️', timer_clock: '⏲️', clock1: '🕐', clock3: '🕒', mantelpiece_clock: '🕰️',
    arrows_counterclockwise: '🔄', arrows_clockwise: '🔃', repeat: '🔁', arrow_right: '➡️', arrow_left: '⬅️',
    arrow_up: '⬆️', arrow_down: '⬇️', arrow_forward: '▶️', fast_forward: '⏩', rewind: '⏪', pause_button: '⏸️',
    stop_button: '⏹️', black_square_for_stop: '⏹️', ship: '🚢', airplane: '✈️', bulb: '💡', pushpin: '📌',
    round_pushpin: '📍', calendar: '📅', date: '📅', chart_with_upwards_trend: '📈',
    chart_with_downwards_trend: '📉', bar_chart: '📊', large_green_square: '🟩', large_red_square: '🟥',
    large_yellow_square: '🟨', white_large_square: '⬜', black_large_square: '⬛', heavy_plus_sign: '➕',
    heavy_minus_sign: '➖', pencil: '📝', pencil2: '✏️', wastebasket: '🗑️', wave: '👋', raised_hands: '🙌',
    pray: '🙏', clap: '👏', thinking_face: '🤔', sparkles: '✨', zap: '⚡', star: '⭐', scroll: '📜',
    card_index_dividers: '🗂️', file_folder: '📁', open_file_folder: '📂', page_facing_up: '📄', inbox_tray: '📥',
    outbox_tray: '📤', test_tube: '🧪', microscope: '🔬', satellite: '📡', globe_with_meridians: '🌐',
    earth_americas: '🌎', busts_in_silhouette: '👥', bust_in_silhouette: '👤', lock_with_ink_pen: '🔏',
    hourglass_done: '⌛', checkered_flag: '🏁', triangular_flag_on_post: '🚩', recycle: '♻️',
    leftwards_arrow_with_hook: '↩️', arrow_heading_up: '⤴️', new: '🆕', ok: '🆗', sos: '🆘', sleeping: '😴',
    skull: '💀', ghost: '👻', point_right: '👉', point_up: '☝️', hand: '✋', raised_hand: '✋', stop_sign: '🛑',
    traffic_light: '🚥', vertical_traffic_light: '🚦', dart: '🎯', trophy: '🏆', medal: '🏅', crossed_fingers: '🤞',
    muscle: '💪', smile: '😄', slightly_smiling_face: '🙂', grinning: '😀', sweat_smile: '😅', cry: '😢',
    scream: '😱', heart: '❤️', green_heart: '💚', broken_heart: '💔', speech_balloon: '💬', thought_balloon: '💭',
    loudspeaker: '📢', mega: '📣', e_mail: '📧', email: '📧', envelope: '✉️', floppy_disk: '💾', cd: '💿',
    computer: '💻', desktop_computer: '🖥️', keyboard: '⌨️', electric_plug: '🔌', battery: '🔋', moneybag: '💰',
    dollar: '💵', hammer: '🔨', nut_and_bolt: '🔩', chains: '⛓️', toolbox: '🧰', magnet: '🧲', compass: '🧭',
    world_map: '🗺️', mountain: '⛰️', sunny: '☀️', snowflake: '❄️', umbrella: '☔', ice_cube: '🧊',
    large_blue_diamond: '🔷', large_orange_diamond: '🔶', small_blue_diamond: '🔹', small_orange_diamond: '🔸',
    white_small_square: '▫️', black_small_square: '▪️', radio_button: '🔘', heavy_multiplication_x: '✖️',
    heavy_division_sign: '➗', infinity: '♾️', copyright: '©️', registered: '®️', tm: '™️', hash: '#️⃣',
    one: '1️⃣', two: '2️⃣', three: '3️⃣', four: '4️⃣', five: '5️⃣', zero: '0️⃣', keycap_ten: '🔟',
  };

  const emojify = (escaped) =>
    escaped.replace(/:([a-z0-9_+'-]+):(?::skin-tone-\d:)?/g, (whole, name) => EMOJI[name] ?? whole);

  // ── tiny helpers ─────────────────────────────────────────────────────────────────────────────────
  const $ = (id) => document.getElementById(id);
  const escapeHtml = (s) =>
    String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const decodeEntities = (s) => String(s).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const h = (tag, attrs = {}, ...children) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'html') el.innerHTML = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  };
  const tsDate = (ts) => new Date(Number(ts) * 1000);
  const timeLabel = (ts) => tsDate(ts).toLocaleTimeString('en-US', { hour: 'numeric', minute: '2-digit' });
  const fullTime = (ts) =>
    tsDate(ts).toLocaleString('en-US', {
      weekday: 'long',
      month: 'long',
      day: 'numeric',
      hour: 'numeric',
      minute: '2-digit',
      second: '2-digit',
    });
  const dayKey = (ts) => tsDate(ts).toDateString();
  const dayLabel = (ts) => {
    const d = tsDate(ts);
    const today = new Date();
    const yesterday = new Date(Date.now() - 86_400_000);
    if (d.toDateString() === today.toDateString()) return 'Today';
    if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
    return d.toLocaleDateString('en-US', { weekday: 'long', month: 'long', day: 'numeric' });
  };
  const PALETTE = ['#e8912d', '#2bac76', '#1264a3', '#cd2553', '#8e44ad', '#16a085', '#d35400', '#4a154b'];
  const colorFor = (id) => {
    let n = 0;
    for (const c of String(id)) n = (n * 31 + c.charCodeAt(0)) >>> 0;
    return PALETTE[n % PALETTE.length];
  };
  const initials = (name) =>
    String(name)
      .split(/[\s._-]+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((p) => p[0].toUpperCase())
      .join('') || '?';

  // ── state ────────────────────────────────────────────────────────────────────────────────────────
  const store = {
    get(key, fallback) {
      try {
        const v = localStorage.getItem(`console:${key}`);
        return v === null ? fallback : JSON.parse(v);
      } catch {
        return fallback;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(`console:${key}`, JSON.stringify(value));
      } catch {
        // private mode: the console still works, it just forgets
      }
    },
  };

  const ui = {
    state: null,
    user: new URLSearchParams(location.search).get('user') || store.get('user', null),
    channel: store.get('channel', null),
    thread: null,
    lastSeen: store.get('lastSeen', {}),
    fetching: false,
    again: false,
    modalKey: null,
    acIndex: 0,
    acItems: [],
    scrolledChannel: null,
    /** 'channel', or 'home' while the app's Home tab is open. */
    view: 'channel',
  };

  const userName = (id) => {
    const s = ui.state;
    if (!s) return id;
    if (s.bot && id === s.bot.id) return s.bot.name;
    const u = s.users.find((x) => x.id === id);
    return u ? u.name : id;
  };
  const userInfo = (id) => ui.state?.users.find((u) => u.id === id);
  const currentChannel = () => ui.state?.channels.find((c) => c.id === ui.channel) ?? ui.state?.channels[0];

  // ── mrkdwn ───────────────────────────────────────────────────────────────────────────────────────
  const SAFE_URL = /^(https?:|mailto:)/i;
  /** https://slack.com/archives/<channel>/p<ts> (or <workspace>.slack.com): a message's permalink. */
  const SLACK_ARCHIVE =
    /^https:\/\/(?:[a-z0-9-]+\.)?slack\.com\/archives\/([A-Z0-9]+)\/p(\d{7,})(?:[?#].*)?$/;

  function renderToken(inner) {
    const bar = inner.indexOf('|');
    const target = bar >= 0 ? inner.slice(0, bar) : inner;
    const label = bar >= 0 ? inner.slice(bar + 1) : '';
    if (target.startsWith('@')) {
      const id = target.slice(1);
      const self = id === ui.user ? ' mention-self' : '';
      return `<span class="mention${self}" data-user-id="${escapeHtml(id)}">@${escapeHtml(label || userName(id))}</span>`;
    }
    if (target.startsWith('#')) {
      const id = target.slice(1);
      const ch = ui.state?.channels.find((c) => c.id === id);
      const name = ch ? ch.name : label || id;
      return `<a href="#" class="channel-link" data-channel-id="${escapeHtml(id)}">#${escapeHtml(decodeEntities(name))}</a>`;
    }
    if (target.startsWith('!')) {
      const special = target.slice(1);
      if (special === 'here' || special === 'channel' || special === 'everyone') {
        return `<span class="mention mention-broadcast">@${special}</span>`;
      }
      if (special.startsWith('subteam^')) {
        return `<span class="mention">${escapeHtml(decodeEntities(label || '@group'))}</span>`;
      }
      if (special.startsWith('date^')) {
        const seconds = Number(special.split('^')[1]);
        const text = Number.isFinite(seconds)
          ? new Date(seconds * 1000).toLocaleString('en-US', { dateStyle: 'medium', timeStyle: 'short' })
          : decodeEntities(label);
        return `<time>${escapeHtml(text)}</time>`;
      }
      return escapeHtml(decodeEntities(label || special));
    }
    const url = decodeEntities(target);
    const text = label ? emojify(escapeHtml(decodeEntities(label))) : escapeHtml(url);
    // A link to a message of this workspace opens it here, as Slack opens its archive links in the app.
    const archive = SLACK_ARCHIVE.exec(url);
    if (archive) {
      return `<a href="#archives/${escapeHtml(archive[1])}/p${escapeHtml(archive[2])}" class="permalink" data-testid="permalink">${text}</a>`;
    }
    if (!SAFE_URL.test(url)) return text;
    return `<a href="${escapeHtml(url)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
  }

  /** Slack mrkdwn (as the bot writes it) → HTML. Everything not produced here is escaped. */
  function mrkdwn(source) {
    const slots = [];
    const hold = (html) => `\uE000${slots.push(html) - 1}\uE000`;
    let s = String(source ?? '');
    s = s.replace(/```([\s\S]*?)```/g, (_, code) =>
      hold(
        `<pre class="mk-pre">${escapeHtml(decodeEntities(code.replace(/^\n/, '').replace(/\n$/, '')))}</pre>`,
      ),
    );
    s = s.replace(/`([^`\n]+)`/g, (_, code) =>
      hold(`<code class="mk-code">${escapeHtml(decodeEntities(code))}</code>`),
    );
    s = s.replace(/<([^<>\n]+)>/g, (_, inner) => hold(renderToken(inner)));
    s = s.replace(/\bhttps?:\/\/[^\s<>"\uE000]+[^\s<>".,;:!?)\uE000]/g, (url) =>
      hold(
        `<a href="${escapeHtml(decodeEntities(url))}" target="_blank" rel="noopener noreferrer">${escapeHtml(decodeEntities(url))}</a>`,
      ),
    );
    s = escapeHtml(decodeEntities(s));
    const bound = '(^|[\\s(\\[{"\'“‘\\uE000>]|&quot;)';
    const end = '(?=$|[\\s).,;:!?\\]}"\'”’\\uE000<-]|&quot;)';
    s = s.replace(new RegExp(`${bound}\\*(?!\\s)([^*\\n]*?[^\\s*])\\*${end}`, 'g'), '$1<strong>$2</strong>');
    s = s.replace(new RegExp(`${bound}\\*([^*\\s])\\*${end}`, 'g'), '$1<strong>$2</strong>');
    s = s.replace(new RegExp(`${bound}_(?!\\s)([^_\\n]*?[^\\s_])_${end}`, 'g'), '$1<em>$2</em>');
    s = s.replace(new RegExp(`${bound}~(?!\\s)([^~\\n]*?[^\\s~])~${end}`, 'g'), '$1<del>$2</del>');
    s = emojify(s);
    // Block quotes: consecutive lines starting with "> ".
    const lines = s.split('\n');
    const out = [];
    let quote = [];
    const flush = () => {
      if (quote.length) out.push(`<blockquote class="mk-quote">${quote.join('<br>')}</blockquote>`);
      quote = [];
    };
    for (const line of lines) {
      const m = /^&gt;\s?(.*)$/.exec(line);
      if (m) quote.push(m[1]);
      else {
        flush();
        out.push(line);
      }
    }
    flush();
    s = out
      .join('\n')
      .replace(/\n(?=<blockquote)/g, '')
      .replace(/(<\/blockquote>)\n/g, '$1')
      .replace(/\n/g, '<br>');
    for (let i = 0; i < 3 && s.includes('\uE000'); i += 1) {
      s = s.replace(/\uE000(\d+)\uE000/g, (_, n) => slots[Number(n)] ?? '');
    }
    return s;
  }

  const textObject = (t) => {
    if (!t || typeof t !== 'object') return '';
    if (t.type === 'mrkdwn') return mrkdwn(t.text);
    const escaped = escapeHtml(t.text ?? '');
    return (t.emoji === false ? escaped : emojify(escaped)).replace(/\n/g, '<br>');
  };

  // ── Block Kit ────────────────────────────────────────────────────────────────────────────────────
  const buttonDefs = new WeakMap();

  function renderButton(el, ctx) {
    const classes = ['bk-button'];
    if (el.style === 'primary') classes.push('primary');
    if (el.style === 'danger') classes.push('danger');
    const btn = h('button', {
      type: 'button',
      class: classes.join(' '),
      'data-testid': `action-${el.action_id}`,
      'data-action-id': el.action_id,
      'data-block-id': ctx.blockId,
      'data-ts': ctx.ts,
      'data-channel': ctx.channel,
      'data-ephemeral': ctx.ephemeral ? 'true' : null,
      'data-value': el.value,
      disabled: ctx.disabled,
      html: textObject(el.text),
    });
    if (el.url) {
      btn.append(
        h('span', {
          class: 'bk-external',
          'aria-hidden': 'true',
          html: '<svg viewBox="0 0 12 12" width="11" height="11"><path fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" d="M4.5 2.5h5v5M9.5 2.5 3 9"/></svg>',
        }),
      );
    }
    buttonDefs.set(btn, el);
    return btn;
  }

  function renderBlocks(blocks, ctx) {
    const wrap = h('div', { class: 'blocks' });
    for (const block of blocks) {
      if (!block || typeof block !== 'object') continue;
      const bctx = { ...ctx, blockId: block.block_id ?? '' };
      switch (block.type) {
        case 'header':
          wrap.append(
            h('div', {
              class: 'bk-header',
              role: 'heading',
              'aria-level': '3',
              html: textObject(block.text),
            }),
          );
          break;
        case 'section': {
          const section = h('div', { class: 'bk-section' });
          const body = h('div', { class: 'bk-section-body' });
          if (block.text) body.append(h('div', { class: 'bk-text', html: textObject(block.text) }));
          if (Array.isArray(block.fields) && block.fields.length) {
            body.append(
              h(
                'div',
                { class: 'bk-fields' },
                block.fields.map((f) => h('div', { class: 'bk-field', html: textObject(f) })),
              ),
            );
          }
          section.append(body);
          if (block.accessory && block.accessory.type === 'button') {
            section.append(h('div', { class: 'bk-accessory' }, renderButton(block.accessory, bctx)));
          } else if (block.accessory && block.accessory.type === 'image') {
            section.append(
              h('div', { class: 'bk-accessory bk-image-alt', text: block.accessory.alt_text ?? '' }),
            );
          }
          wrap.append(section);
          break;
        }
        case 'context':
          wrap.append(
            h(
              'div',
              { class: 'bk-context' },
              (block.elements ?? []).map((e) =>
                e && e.type === 'image'
                  ? h('span', { class: 'bk-context-image', title: e.alt_text ?? '', text: '▣' })
                  : h('span', { class: 'bk-context-item', html: textObject(e) }),
              ),
            ),
          );
          break;
        case 'divider':
          wrap.append(h('hr', { class: 'bk-divider' }));
          break;
        case 'actions':
          wrap.append(
            h(
              'div',
              { class: 'bk-actions', role: 'group', 'aria-label': 'Actions' },
              (block.elements ?? [])
                .filter((e) => e && e.type === 'button')
                .map((e) => renderButton(e, bctx)),
            ),
          );
          break;
        case 'image':
          wrap.append(h('div', { class: 'bk-image-alt', text: `🖼 ${block.alt_text ?? 'image'}` }));
          break;
        case 'input':
          wrap.append(renderInput(block, ctx.errors?.[block.block_id]));
          break;
        case 'rich_text':
          wrap.append(h('div', { class: 'bk-text', text: '(rich text)' }));
          break;
        default:
          wrap.append(h('div', { class: 'bk-unsupported', text: `Unsupported block: ${block.type}` }));
      }
    }
    return wrap;
  }

  function renderInput(block, error) {
    const el = block.element ?? {};
    const id = `input-${block.block_id}-${el.action_id}`;
    const field = h('div', { class: 'bk-input' + (error ? ' has-error' : '') });
    field.append(
      h(
        'label',
        { class: 'bk-input-label', for: id },
        h('span', { html: textObject(block.label) }),
        block.optional ? h('span', { class: 'bk-optional', text: ' (optional)' }) : null,
      ),
    );
    const common = {
      id,
      name: id,
      class: 'bk-input-control',
      'data-block-id': block.block_id,
      'data-action-id': el.action_id,
      'data-required': block.optional ? null : 'true',
      placeholder: el.placeholder?.text,
      maxlength: el.max_length,
      'aria-invalid': error ? 'true' : null,
      'aria-describedby': error ? `${id}-error` : block.hint ? `${id}-hint` : null,
    };
    if (el.type === 'plain_text_input' || el.type === undefined) {
      const control = el.multiline
        ? h('textarea', { ...common, rows: 4 })
        : h('input', { ...common, type: 'text' });
      if (el.initial_value) control.value = el.initial_value;
      field.append(control);
    } else {
      field.append(h('div', { class: 'bk-unsupported', text: `Unsupported input: ${el.type}` }));
    }
    if (block.hint)
      field.append(h('div', { class: 'bk-hint', id: `${id}-hint`, html: textObject(block.hint) }));
    if (error) field.append(h('div', { class: 'bk-error', id: `${id}-error`, role: 'alert', text: error }));
    return field;
  }

  // ── messages ─────────────────────────────────────────────────────────────────────────────────────
  function avatar(userId, isBot, size = '') {
    if (isBot) return h('span', { class: `avatar avatar-bot ${size}`, 'aria-hidden': 'true' });
    const name = userName(userId);
    const el = h('span', { class: `avatar ${size}`, 'aria-hidden': 'true', text: initials(name) });
    el.style.background = colorFor(userId);
    return el;
  }

  function messageContent(m, ctx) {
    const content = h('div', { class: 'message-text', 'data-testid': 'message-text' });
    if (Array.isArray(m.blocks) && m.blocks.length) content.append(renderBlocks(m.blocks, ctx));
    else content.append(h('div', { class: 'bk-text', html: mrkdwn(m.text) }));
    return content;
  }

  function threadSummary(m, channel) {
    if (!m.replies || m.replies.length === 0) return null;
    const last = m.replies[m.replies.length - 1];
    const people = [...new Set(m.replies.map((r) => `${r.bot ? 'bot' : r.user}`))].slice(0, 3);
    return h(
      'button',
      {
        type: 'button',
        class: 'thread-summary',
        'data-testid': 'thread-link',
        'data-ts': m.ts,
        'data-channel': channel.id,
        'aria-label': `${m.replies.length} ${m.replies.length === 1 ? 'reply' : 'replies'}, open thread`,
      },
      h(
        'span',
        { class: 'thread-avatars' },
        people.map((p) => avatar(p === 'bot' ? '' : p, p === 'bot', 'avatar-xs')),
      ),
      h('span', {
        class: 'thread-count',
        text: `${m.replies.length} ${m.replies.length === 1 ? 'reply' : 'replies'}`,
      }),
      h('span', {
        class: 'thread-last',
        text: `Last reply ${dayLabel(last.ts) === 'Today' ? 'today' : dayLabel(last.ts)} at ${timeLabel(last.ts)}`,
      }),
      h('span', { class: 'thread-view', text: 'View thread' }),
    );
  }

  function renderMessage(m, channel, opts = {}) {
    const compact = opts.compact && !m.bot;
    const name = m.bot ? ui.state.bot.name : userName(m.user);
    const el = h('article', {
      class: `message${compact ? ' compact' : ''}${m.bot ? ' from-bot' : ''}`,
      'data-testid': 'message',
      'data-ts': m.ts,
      'data-user': m.user,
      'aria-label': `${name} at ${timeLabel(m.ts)}`,
    });
    const gutter = h('div', { class: 'message-gutter' });
    if (compact)
      gutter.append(
        h('time', {
          class: 'gutter-time',
          datetime: tsDate(m.ts).toISOString(),
          title: fullTime(m.ts),
          text: timeLabel(m.ts).replace(/\s?[AP]M$/, ''),
        }),
      );
    else gutter.append(avatar(m.user, m.bot));
    const body = h('div', { class: 'message-body' });
    if (m.broadcast && !opts.inThread) {
      body.append(h('div', { class: 'broadcast-note', text: 'replied to a thread' }));
    }
    if (!compact) {
      body.append(
        h(
          'div',
          { class: 'message-header' },
          h('span', { class: 'message-author', text: name }),
          m.bot ? h('span', { class: 'app-badge', text: 'APP' }) : null,
          !m.bot && userInfo(m.user) ? h('span', { class: 'role-badge', text: userInfo(m.user).role }) : null,
          h('time', {
            class: 'message-time',
            datetime: tsDate(m.ts).toISOString(),
            title: fullTime(m.ts),
            text: timeLabel(m.ts),
          }),
        ),
      );
    }
    const content = messageContent(m, { ts: m.ts, channel: channel.id, ephemeral: false });
    if (m.edited) {
      const marker = h('span', {
        class: 'edited',
        'data-testid': 'edited',
        title: `Updated ${m.updateCount} time${m.updateCount === 1 ? '' : 's'}`,
        text: '(edited)',
      });
      const texts = content.querySelectorAll('.bk-text, .bk-context');
      (texts[texts.length - 1] ?? content).append(' ', marker);
    }
    body.append(content);
    if (!opts.inThread) {
      const summary = threadSummary(m, channel);
      if (summary) body.append(summary);
    }
    el.append(gutter, body);
    return el;
  }

  function renderEphemeral(e, channel) {
    const el = h('article', {
      class: 'message ephemeral',
      'data-testid': 'ephemeral',
      'data-ts': e.ts,
      'aria-label': `Only visible to you: ${ui.state.bot.name} at ${timeLabel(e.ts)}`,
    });
    const body = h('div', { class: 'message-body' });
    body.append(
      h(
        'div',
        { class: 'ephemeral-note' },
        h('span', {
          class: 'eye',
          'aria-hidden': 'true',
          html: '<svg viewBox="0 0 20 20" width="14" height="14"><path fill="currentColor" d="M10 4c4.2 0 7.3 3.4 8.4 5.3a1.3 1.3 0 0 1 0 1.4C17.3 12.6 14.2 16 10 16s-7.3-3.4-8.4-5.3a1.3 1.3 0 0 1 0-1.4C2.7 7.4 5.8 4 10 4Zm0 1.5c-3.3 0-6 2.7-7 4.5 1 1.8 3.7 4.5 7 4.5s6-2.7 7-4.5c-1-1.8-3.7-4.5-7-4.5Zm0 1.5a3 3 0 1 1 0 6 3 3 0 0 1 0-6Zm0 1.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3Z"/></svg>',
        }),
        h('span', { text: 'Only visible to you' }),
      ),
      h(
        'div',
        { class: 'message-header' },
        h('span', { class: 'message-author', text: ui.state.bot.name }),
        h('span', { class: 'app-badge', text: 'APP' }),
        h('time', {
          class: 'message-time',
          datetime: tsDate(e.ts).toISOString(),
          title: fullTime(e.ts),
          text: timeLabel(e.ts),
        }),
      ),
      messageContent(e, { ts: e.ts, channel: channel.id, ephemeral: true }),
      h('button', {
        type: 'button',
        class: 'dismiss',
        'data-testid': 'dismiss',
        'data-ts': e.ts,
        text: 'Dismiss message',
      }),
    );
    el.append(h('div', { class: 'message-gutter' }, avatar('', true)), body);
    return el;
  }

  /** Puts `nodes` into `container` in order, moving only what moved, so focus and hover survive updates. */
  function reconcile(container, nodes) {
    nodes.forEach((node, i) => {
      if (container.children[i] !== node) container.insertBefore(node, container.children[i] ?? null);
    });
    while (container.children.length > nodes.length) container.lastElementChild.remove();
  }

  const nodeCache = new Map();
  function cached(key, signature, build) {
    const hit = nodeCache.get(key);
    if (hit && hit.signature === signature) {
      hit.used = true;
      return hit.node;
    }
    const node = build();
    nodeCache.set(key, { signature, node, used: true });
    return node;
  }
  const sweepCache = () => {
    for (const [key, entry] of nodeCache) {
      if (!entry.used) nodeCache.delete(key);
      entry.used = false;
    }
  };

  function channelIntro(channel) {
    return h(
      'div',
      { class: 'channel-intro' },
      h('div', { class: 'channel-intro-icon', 'aria-hidden': 'true', text: '#' }),
      h('h2', { text: `This is the very beginning of #${channel.name}` }),
      h('p', { text: channel.topic }),
      channel.key === 'deployments'
        ? h('p', {
            class: 'channel-intro-tip',
            html: 'Start here: type <code>/promote dev</code> or <code>/freight</code> in the box below.',
          })
        : null,
    );
  }

  function renderMessages() {
    const channel = currentChannel();
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const items = [
      ...channel.messages.map((m) => ({ kind: 'm', ts: m.ts, m })),
      ...channel.ephemerals.filter((e) => !e.threadTs).map((e) => ({ kind: 'e', ts: e.ts, e })),
    ].sort((a, b) => Number(a.ts) - Number(b.ts));
    const nodes = [cached(`intro:${channel.id}`, channel.topic, () => channelIntro(channel))];
    const names = JSON.stringify(ui.state.users) + ui.state.bot.id + ui.user;
    let lastDay = '';
    let prev = null;
    for (const item of items) {
      const day = dayKey(item.ts);
      if (day !== lastDay) {
        const label = dayLabel(item.ts);
        nodes.push(
          cached(`day:${channel.id}:${day}`, label, () =>
            h('div', { class: 'day-divider', role: 'separator' }, h('span', { text: label })),
          ),
        );
        lastDay = day;
        prev = null;
      }
      if (item.kind === 'm') {
        const m = item.m;
        const compact =
          prev &&
          prev.kind === 'm' &&
          !prev.m.bot &&
          prev.m.user === m.user &&
          Number(m.ts) - Number(prev.ts) < 300 &&
          !m.broadcast;
        nodes.push(
          cached(`m:${channel.id}:${m.ts}`, JSON.stringify([m, compact, names]), () =>
            renderMessage(m, channel, { compact }),
          ),
        );
      } else {
        nodes.push(
          cached(`e:${channel.id}:${item.e.ts}`, JSON.stringify([item.e, names]), () =>
            renderEphemeral(item.e, channel),
          ),
        );
      }
      prev = item;
    }
    reconcile(list, nodes);
    if (atBottom || ui.scrolledChannel !== channel.id) {
      list.scrollTop = list.scrollHeight;
      ui.scrolledChannel = channel.id;
    }
  }

  function renderThread() {
    const pane = $('thread');
    const channel = currentChannel();
    const parent = ui.thread && channel.messages.find((m) => m.ts === ui.thread);
    if (!parent) {
      pane.hidden = true;
      ui.thread = null;
      return;
    }
    pane.hidden = false;
    $('thread-channel').textContent = `#${channel.name}`;
    const body = $('thread-body');
    const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 60;
    const names = JSON.stringify(ui.state.users) + ui.state.bot.id + ui.user;
    const nodes = [
      cached(
        `t:${parent.ts}:parent`,
        JSON.stringify([parent.text, parent.blocks, parent.updateCount, names]),
        () => renderMessage(parent, channel, { inThread: true }),
      ),
      cached(`t:${parent.ts}:count:${parent.replies.length}`, '', () =>
        h(
          'div',
          { class: 'thread-divider', role: 'separator' },
          h('span', {
            text: `${parent.replies.length} ${parent.replies.length === 1 ? 'reply' : 'replies'}`,
          }),
        ),
      ),
    ];
    const items = [
      ...parent.replies.map((m) => ({ kind: 'm', ts: m.ts, m })),
      ...channel.ephemerals.filter((e) => e.threadTs === parent.ts).map((e) => ({ kind: 'e', ts: e.ts, e })),
    ].sort((a, b) => Number(a.ts) - Number(b.ts));
    for (const item of items) {
      if (item.kind === 'm') {
        nodes.push(
          cached(`t:${item.m.ts}`, JSON.stringify([item.m, names]), () =>
            renderMessage(item.m, channel, { inThread: true }),
          ),
        );
      } else {
        nodes.push(
          cached(`te:${item.e.ts}`, JSON.stringify([item.e, names]), () => renderEphemeral(item.e, channel)),
        );
      }
    }
    reconcile(body, nodes);
    if (atBottom) body.scrollTop = body.scrollHeight;
  }

  // ── sidebar, header, switcher ────────────────────────────────────────────────────────────────────
  const latestTs = (channel) => {
    let latest = 0;
    for (const m of channel.messages) {
      if (m.user !== ui.user) latest = Math.max(latest, Number(m.ts));
      for (const r of m.replies) if (r.user !== ui.user) latest = Math.max(latest, Number(r.ts));
    }
    for (const e of channel.ephemerals) latest = Math.max(latest, Number(e.ts));
    return latest;
  };

  function renderSidebar() {
    const s = ui.state;
    $('workspace-name').textContent = s.workspace;
    $('bot-name').textContent = s.bot.name;
    const list = $('channel-list');
    const items = s.channels.map((c) => {
      if (ui.lastSeen[c.id] === undefined) ui.lastSeen[c.id] = latestTs(c);
      const open = c.id === ui.channel && ui.view === 'channel';
      if (open) ui.lastSeen[c.id] = Math.max(ui.lastSeen[c.id], latestTs(c));
      const unread = !open && latestTs(c) > ui.lastSeen[c.id];
      return h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: `channel-item${open ? ' active' : ''}${unread ? ' unread' : ''}`,
            'data-testid': `channel-${c.name}`,
            'data-channel-id': c.id,
            'data-unread': unread ? 'true' : 'false',
            'aria-current': open ? 'page' : null,
            'aria-label': `${c.name}${unread ? ', unread messages' : ''}`,
          },
          h('span', { class: 'channel-hash', 'aria-hidden': 'true', text: '#' }),
          h('span', { class: 'channel-name', text: c.name }),
          unread
            ? h('span', { class: 'unread-dot', 'data-testid': 'unread-dot', 'aria-hidden': 'true' })
            : null,
        ),
      );
    });
    list.replaceChildren(...items);
    store.set('lastSeen', ui.lastSeen);
  }

  function renderHeader() {
    const home = ui.view === 'home';
    const c = currentChannel();
    document.querySelector('#channel-title .hash').hidden = home;
    $('channel-title-name').textContent = home ? `${ui.state.bot.name} · Home` : c.name;
    $('channel-topic').textContent = home
      ? 'The app’s Home tab: what every stage runs, what waits and why, freezes, locks and the last promotions'
      : c.topic;
    $('composer').placeholder = `Message #${c.name}`;
    document.title = home ? `Home · ${ui.state.workspace}` : `#${c.name} · ${ui.state.workspace}`;
    $('app-home').classList.toggle('active', home);
  }

  /** The Home tab as the bot last published it for this user (views.publish), or a word that it is coming. */
  function renderHome() {
    const home = ui.view === 'home';
    $('home-tab').hidden = !home;
    $('messages').hidden = home;
    $('composer-form').hidden = home;
    if (!home) return;
    const view = ui.state.home;
    const key = JSON.stringify([ui.user, view?.hash ?? null, view?.blocks ?? null]);
    if ($('home-tab').dataset.key === key) return;
    $('home-tab').dataset.key = key;
    $('home-tab').replaceChildren(
      view
        ? renderBlocks(view.blocks ?? [], { ts: 'home', channel: '', ephemeral: false, disabled: true })
        : h('p', { class: 'home-empty', text: 'Opening the Home tab… the bot publishes it in a moment.' }),
    );
  }

  /** Opens the Home tab: Slack tells the app (app_home_opened), which publishes the view. */
  function openHome() {
    ui.view = 'home';
    ui.thread = null;
    render();
    post('/api/home', { user: ui.user }).catch((err) => toast(err.message, 'error'));
  }

  function renderSwitcher() {
    const select = $('user-switcher');
    const s = ui.state;
    const signature = JSON.stringify(s.users);
    if (select.dataset.signature !== signature) {
      select.replaceChildren(
        ...s.users.map((u) =>
          h('option', { value: u.id, text: `${u.realName || u.name} (@${u.name}) — ${u.role}` }),
        ),
      );
      select.dataset.signature = signature;
    }
    select.value = ui.user;
    const a = $('switcher-avatar');
    a.textContent = initials(userName(ui.user));
    a.style.background = colorFor(ui.user);
    document.body.dataset.role = userInfo(ui.user)?.role ?? '';
    // The guide names the people of the story, as the switcher does (the first of each role).
    for (const slot of document.querySelectorAll('[data-role-name]')) {
      const person = s.users.find((u) => u.role === slot.dataset.roleName);
      if (person) slot.textContent = `${person.realName || person.name} (@${person.name})`;
    }
  }

  // ── modal (views.open) ───────────────────────────────────────────────────────────────────────────
  function renderModal() {
    const modal = ui.state.modal;
    const backdrop = $('modal-backdrop');
    if (!modal) {
      if (!backdrop.hidden) backdrop.hidden = true;
      ui.modalKey = null;
      return;
    }
    const key = JSON.stringify([modal.id, modal.view.hash, modal.errors]);
    if (key === ui.modalKey) return;
    const sameView = ui.modalKey && JSON.parse(ui.modalKey)[1] === modal.view.hash;
    const previous = sameView ? collectModalValues() : null;
    ui.modalKey = key;
    $('modal').dataset.viewId = modal.id;
    $('modal').dataset.callbackId = modal.view.callback_id ?? '';
    $('modal-title').innerHTML = textObject(modal.view.title);
    $('modal-submit').innerHTML = modal.view.submit ? textObject(modal.view.submit) : 'Submit';
    $('modal-submit').hidden =
      !modal.view.submit && !(modal.view.blocks ?? []).some((b) => b.type === 'input');
    $('modal-cancel').innerHTML = modal.view.close ? textObject(modal.view.close) : 'Cancel';
    const body = $('modal-body');
    const general = modal.errors?.[''];
    body.replaceChildren(
      general ? h('div', { class: 'modal-error', role: 'alert', text: general }) : '',
      renderBlocks(modal.view.blocks ?? [], {
        ts: '',
        channel: '',
        ephemeral: false,
        disabled: true,
        errors: modal.errors ?? {},
      }),
    );
    if (previous) {
      for (const control of body.querySelectorAll('.bk-input-control')) {
        const v = previous[control.dataset.blockId]?.[control.dataset.actionId];
        if (v !== undefined) control.value = v;
      }
    }
    const wasHidden = backdrop.hidden;
    backdrop.hidden = false;
    if (wasHidden) (body.querySelector('.bk-input-control') ?? $('modal-submit')).focus();
  }

  function collectModalValues() {
    const values = {};
    for (const control of $('modal-body').querySelectorAll('.bk-input-control')) {
      const { blockId, actionId } = control.dataset;
      values[blockId] = { ...(values[blockId] ?? {}), [actionId]: control.value };
    }
    return values;
  }

  // ── render all ───────────────────────────────────────────────────────────────────────────────────
  function render() {
    const s = ui.state;
    if (!s.channels.some((c) => c.id === ui.channel)) ui.channel = s.channels[0].id;
    renderSwitcher();
    renderSidebar();
    renderHeader();
    renderHome();
    renderMessages();
    renderThread();
    renderModal();
    sweepCache();
  }

  async function refresh() {
    if (ui.fetching) {
      ui.again = true;
      return;
    }
    ui.fetching = true;
    try {
      do {
        ui.again = false;
        const userParam = ui.user ? `?user=${encodeURIComponent(ui.user)}` : '';
        const res = await fetch(`/api/state${userParam}`, { cache: 'no-store' });
        const s = await res.json();
        if (!ui.user || !s.users.some((u) => u.id === ui.user)) {
          ui.user = (s.users.find((u) => u.role === 'requester') ?? s.users[0]).id;
          store.set('user', ui.user);
          ui.again = true;
        }
        if (s.user !== ui.user) {
          // The user was switched while this was in flight: these ephemerals are someone else's.
          ui.again = true;
          continue;
        }
        ui.state = s;
        render();
        if (ui.pendingPermalink && openPermalink(ui.pendingPermalink)) ui.pendingPermalink = '';
        document.body.dataset.user = s.user;
        document.body.dataset.version = String(s.version);
      } while (ui.again);
    } catch (err) {
      toast(`Could not load the console state: ${err.message}`, 'error');
    } finally {
      ui.fetching = false;
    }
  }

  // ── talking to the server ────────────────────────────────────────────────────────────────────────
  async function post(path, body) {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
    if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
    return data;
  }

  let toastTimer;
  function toast(text, kind = 'info') {
    const el = $('toast');
    el.textContent = text;
    el.dataset.kind = kind;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(
      () => {
        el.hidden = true;
      },
      kind === 'error' ? 6000 : 2500,
    );
  }

  // ── composer and autocomplete ────────────────────────────────────────────────────────────────────
  const composer = $('composer');

  function autosize(textarea) {
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
  }

  function updateAutocomplete() {
    const value = composer.value;
    const box = $('autocomplete');
    const hint = $('composer-hint');
    $('composer-form').querySelector('.send').disabled = value.trim() === '';
    const commands = ui.state?.commands ?? [];
    const word = /^\/(\S*)$/.exec(value);
    if (word) {
      ui.acItems = commands.filter((c) => c.command.startsWith(`/${word[1].toLowerCase()}`));
      ui.acIndex = Math.min(ui.acIndex, Math.max(ui.acItems.length - 1, 0));
    } else {
      ui.acItems = [];
    }
    if (ui.acItems.length) {
      box.replaceChildren(
        h('div', { class: 'autocomplete-title', text: 'Commands matching' }),
        ...ui.acItems.map((c, i) =>
          h(
            'div',
            {
              class: `autocomplete-item${i === ui.acIndex ? ' selected' : ''}`,
              role: 'option',
              id: `ac-${i}`,
              'aria-selected': i === ui.acIndex ? 'true' : 'false',
              'data-command': c.command,
              onmousedown: (ev) => {
                ev.preventDefault();
                chooseCommand(c.command);
              },
            },
            h(
              'div',
              { class: 'autocomplete-line' },
              h('span', { class: 'ac-command', text: c.command }),
              h('span', { class: 'ac-usage', text: c.usageHint }),
            ),
            h('div', { class: 'autocomplete-desc', text: c.description }),
            h('span', { class: 'ac-app', text: ui.state.bot.name }),
          ),
        ),
      );
      box.hidden = false;
      composer.setAttribute('aria-expanded', 'true');
      composer.setAttribute('aria-activedescendant', `ac-${ui.acIndex}`);
    } else {
      box.hidden = true;
      composer.setAttribute('aria-expanded', 'false');
      composer.removeAttribute('aria-activedescendant');
    }
    const typed = /^(\/\S+)\s/.exec(value);
    const known = typed && commands.find((c) => c.command === typed[1].toLowerCase());
    if (known) {
      hint.replaceChildren(
        h('span', { class: 'ac-command', text: known.command }),
        ' ',
        h('span', { class: 'ac-usage', text: known.usageHint }),
      );
      hint.hidden = false;
    } else {
      hint.hidden = true;
    }
  }

  function chooseCommand(command) {
    composer.value = `${command} `;
    ui.acIndex = 0;
    updateAutocomplete();
    composer.focus();
  }

  async function send(text, threadTs) {
    const channel = currentChannel();
    if (text.startsWith('/') && !text.startsWith('/ ')) {
      const result = await post('/api/command', { user: ui.user, channel: channel.id, text });
      if (!result.ok && result.error && result.error !== 'not_a_command') {
        toast(`${text.split(/\s/)[0]} failed: ${result.error}`, 'error');
      }
    } else {
      await post('/api/message', {
        user: ui.user,
        channel: channel.id,
        text: text.replace(/^\/ /, '/'),
        threadTs,
      });
    }
  }

  $('composer-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = composer.value.trim();
    if (!text) return;
    composer.value = '';
    autosize(composer);
    updateAutocomplete();
    composer.setAttribute('aria-busy', 'true');
    try {
      await send(text);
    } catch (err) {
      composer.value = text;
      updateAutocomplete();
      toast(err.message, 'error');
    } finally {
      composer.removeAttribute('aria-busy');
    }
  });

  composer.addEventListener('input', () => {
    autosize(composer);
    updateAutocomplete();
  });
  composer.addEventListener('blur', () => {
    $('autocomplete').hidden = true;
  });
  composer.addEventListener('focus', updateAutocomplete);
  composer.addEventListener('keydown', (ev) => {
    const open = !$('autocomplete').hidden && ui.acItems.length > 0;
    if (open && (ev.key === 'ArrowDown' || ev.key === 'ArrowUp')) {
      ev.preventDefault();
      const n = ui.acItems.length;
      ui.acIndex = (ui.acIndex + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
      updateAutocomplete();
      return;
    }
    if (open && (ev.key === 'Tab' || (ev.key === 'Enter' && !ev.shiftKey))) {
      const chosen = ui.acItems[ui.acIndex];
      // Enter on an exact command sends it (e.g. "/freight"); otherwise it completes.
      if (ev.key === 'Tab' || chosen.command !== composer.value.trim()) {
        ev.preventDefault();
        chooseCommand(chosen.command);
        return;
      }
    }
    if (open && ev.key === 'Escape') {
      $('autocomplete').hidden = true;
      return;
    }
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('composer-form').requestSubmit();
    }
  });

  const threadInput = $('thread-input');
  threadInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      $('thread-form').requestSubmit();
    }
  });
  threadInput.addEventListener('input', () => autosize(threadInput));
  $('thread-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = threadInput.value.trim();
    if (!text || !ui.thread) return;
    threadInput.value = '';
    autosize(threadInput);
    try {
      await send(text, ui.thread);
    } catch (err) {
      threadInput.value = text;
      toast(err.message, 'error');
    }
  });

  // ── confirm dialog (Block Kit `confirm`) ─────────────────────────────────────────────────────────
  function confirmDialog(confirm) {
    return new Promise((resolve) => {
      const backdrop = $('confirm-backdrop');
      const accept = $('confirm-accept');
      const deny = $('confirm-deny');
      $('confirm-title').innerHTML = textObject(
        confirm.title ?? { type: 'plain_text', text: 'Are you sure?' },
      );
      $('confirm-text').innerHTML = textObject(confirm.text ?? { type: 'plain_text', text: '' });
      accept.innerHTML = textObject(confirm.confirm ?? { type: 'plain_text', text: 'Yes' });
      deny.innerHTML = textObject(confirm.deny ?? { type: 'plain_text', text: 'Cancel' });
      accept.className = `bk-button ${confirm.style === 'danger' ? 'danger' : 'primary'}`;
      const previouslyFocused = document.activeElement;
      backdrop.hidden = false;
      deny.focus();
      const done = (answer) => {
        backdrop.hidden = true;
        accept.removeEventListener('click', yes);
        deny.removeEventListener('click', no);
        backdrop.removeEventListener('keydown', onKey);
        if (previouslyFocused && previouslyFocused.focus) previouslyFocused.focus();
        resolve(answer);
      };
      const yes = () => done(true);
      const no = () => done(false);
      const onKey = (ev) => {
        if (ev.key === 'Escape') no();
        if (ev.key === 'Tab') trapFocus(ev, $('confirm'));
      };
      accept.addEventListener('click', yes);
      deny.addEventListener('click', no);
      backdrop.addEventListener('keydown', onKey);
    });
  }

  function trapFocus(ev, container) {
    const focusable = [
      ...container.querySelectorAll('button:not([disabled]), input, textarea, select, a[href]'),
    ].filter((el) => !el.hidden && el.offsetParent !== null);
    if (focusable.length === 0) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (ev.shiftKey && document.activeElement === first) {
      ev.preventDefault();
      last.focus();
    } else if (!ev.shiftKey && document.activeElement === last) {
      ev.preventDefault();
      first.focus();
    }
  }

  // ── clicks ───────────────────────────────────────────────────────────────────────────────────────
  async function clickButton(btn) {
    const def = buttonDefs.get(btn) ?? {};
    if (def.confirm && !(await confirmDialog(def.confirm))) return;
    if (def.url) window.open(def.url, '_blank', 'noopener');
    btn.classList.add('pending');
    btn.setAttribute('aria-busy', 'true');
    try {
      const result = await post('/api/action', {
        user: ui.user,
        channel: btn.dataset.channel,
        messageTs: btn.dataset.ts,
        actionId: btn.dataset.actionId,
        blockId: btn.dataset.blockId,
        value: btn.dataset.value,
        ephemeral: btn.dataset.ephemeral === 'true',
      });
      if (!result.ok)
        toast(
          `${ui.state.bot.name} did not respond (${result.error}). Slack would show a warning on the button.`,
          'error',
        );
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      btn.classList.remove('pending');
      btn.removeAttribute('aria-busy');
    }
  }

  function selectChannel(id) {
    if (!ui.state.channels.some((c) => c.id === id)) return;
    ui.view = 'channel';
    if (ui.channel !== id) ui.thread = null;
    ui.channel = id;
    store.set('channel', id);
    render();
    composer.focus();
  }

  // ── permalinks ("view the card") ─────────────────────────────────────────────────────────────────
  // A message's Slack archive link is shown as #archives/<channel>/p<ts without the dot> on this page.
  const PERMALINK = /^#archives\/([A-Z0-9]+)\/p(\d{7,})$/;

  /** Opens the channel of a permalink and scrolls its message into view, marked for a moment. */
  function openPermalink(hash) {
    const m = PERMALINK.exec(hash);
    if (!m || !ui.state) return false;
    const ts = `${m[2].slice(0, -6)}.${m[2].slice(-6)}`;
    selectChannel(m[1]);
    const el = $('messages').querySelector(`[data-testid="message"][data-ts="${window.CSS.escape(ts)}"]`);
    if (!el) return false;
    el.scrollIntoView({ block: 'center' });
    for (const old of document.querySelectorAll('.message.linked')) old.classList.remove('linked');
    el.classList.add('linked');
    return true;
  }
  ui.pendingPermalink = location.hash;
  window.addEventListener('hashchange', () => {
    if (!openPermalink(location.hash)) ui.pendingPermalink = location.hash;
  });

  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    if (!target) return;
    const actionBtn = target.closest('.message .bk-button[data-action-id]');
    if (actionBtn && !actionBtn.disabled) {
      ev.preventDefault();
      clickButton(actionBtn);
      return;
    }
    if (target.closest('#app-home')) {
      openHome();
      return;
    }
    const channelBtn = target.closest('.channel-item[data-channel-id]');
    if (channelBtn) {
      selectChannel(channelBtn.dataset.channelId);
      return;
    }
    const permalink = target.closest('a.permalink');
    if (permalink) {
      ev.preventDefault();
      const hash = permalink.getAttribute('href');
      window.history.pushState(null, '', hash);
      if (!openPermalink(hash)) ui.pendingPermalink = hash;
      return;
    }
    const channelLink = target.closest('a.channel-link');
    if (channelLink) {
      ev.preventDefault();
      selectChannel(channelLink.dataset.channelId);
      return;
    }
    const threadLink = target.closest('.thread-summary');
    if (threadLink) {
      ui.thread = threadLink.dataset.ts;
      renderThread();
      sweepCache();
      threadInput.focus();
      return;
    }
    const dismiss = target.closest('.dismiss');
    if (dismiss) {
      post('/api/dismiss', { user: ui.user, messageTs: dismiss.dataset.ts }).catch((err) =>
        toast(err.message, 'error'),
      );
    }
  });

  $('thread-close').addEventListener('click', () => {
    ui.thread = null;
    renderThread();
    composer.focus();
  });

  $('user-switcher').addEventListener('change', (ev) => {
    ui.user = ev.target.value;
    store.set('user', ui.user);
    const u = userInfo(ui.user);
    ui.modalKey = null;
    if (ui.view === 'home') post('/api/home', { user: ui.user }).catch((err) => toast(err.message, 'error'));
    refresh().then(() => toast(`Now acting as ${u ? `${u.realName || u.name} (${u.role})` : ui.user}`));
  });

  // ── modal events ─────────────────────────────────────────────────────────────────────────────────
  const closeModal = () => {
    const viewId = $('modal').dataset.viewId;
    $('modal-backdrop').hidden = true;
    ui.modalKey = null;
    post('/api/view-close', { user: ui.user, viewId }).catch((err) => toast(err.message, 'error'));
  };
  $('modal-cancel').addEventListener('click', closeModal);
  $('modal-x').addEventListener('click', closeModal);
  $('modal-backdrop').addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closeModal();
    if (ev.key === 'Tab') trapFocus(ev, $('modal'));
  });
  $('modal-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    let missing = false;
    for (const control of $('modal-body').querySelectorAll('.bk-input-control[data-required]')) {
      const field = control.closest('.bk-input');
      field.querySelector('.bk-error.local')?.remove();
      if (control.value.trim() === '') {
        missing = true;
        field.classList.add('has-error');
        field.append(
          h('div', { class: 'bk-error local', role: 'alert', text: 'Please complete this required field.' }),
        );
      }
    }
    if (missing) return;
    const submit = $('modal-submit');
    submit.disabled = true;
    try {
      const result = await post('/api/view-submission', {
        user: ui.user,
        viewId: $('modal').dataset.viewId,
        values: collectModalValues(),
      });
      if (!result.ok && result.error !== 'validation')
        toast(`${ui.state.bot.name} did not respond (${result.error})`, 'error');
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      submit.disabled = false;
    }
  });

  // ── live updates ─────────────────────────────────────────────────────────────────────────────────
  function connect() {
    const live = $('live');
    const events = new EventSource('/api/events');
    events.addEventListener('state', (ev) => {
      live.dataset.state = 'live';
      live.querySelector('.live-label').textContent = 'live';
      const { version } = JSON.parse(ev.data);
      if (!ui.state || version !== ui.state.version) refresh();
    });
    events.addEventListener('error', () => {
      live.dataset.state = 'offline';
      live.querySelector('.live-label').textContent = 'reconnecting…';
    });
  }

  refresh().then(() => {
    connect();
    composer.focus();
  });
})();
