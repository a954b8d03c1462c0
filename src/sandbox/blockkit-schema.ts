// Block Kit as Slack documents it, for the Slack stand-in: an independent check of every message, modal and
// Home tab the bot sends. It is written from Slack's reference pages, not from the bot's code (the bot's
// own builders and limits live in src/domain/blockkit.ts and are deliberately not used here), so a bot
// that misspells a block type, forgets a required field or adds one Slack does not know is refused the
// way Slack refuses it: `invalid_blocks` (messages) or `invalid_arguments` (views), with one line per
// problem ending in `[json-pointer:/blocks/3/text]`.
//
// Sources (docs.slack.dev/reference/…):
//   block-kit/blocks                       50 blocks per message, 100 per modal or Home tab
//   block-kit/blocks/section-block         text 1–3000 or fields (≤ 10, each ≤ 2000); accessory; expand
//   block-kit/blocks/header-block          plain_text ≤ 150
//   block-kit/blocks/context-block         1–10 image elements or text objects
//   block-kit/blocks/divider-block         no fields but type and block_id
//   block-kit/blocks/actions-block         1–25 interactive elements
//   block-kit/blocks/input-block           label plain_text ≤ 2000, element, hint ≤ 2000, optional,
//                                          dispatch_action (modals and Home tabs)
//   block-kit/blocks/image-block           alt_text ≤ 2000, image_url ≤ 3000 or slack_file, title ≤ 2000
//   every block                            block_id ≤ 255, unique in its message or view
//   block-kit/block-elements/button-element          text plain_text ≤ 75, action_id ≤ 255, url ≤ 3000,
//                                                    value ≤ 2000, style primary|danger, confirm,
//                                                    accessibility_label ≤ 75
//   block-kit/block-elements/select-menu-element     static_select: options ≤ 100 or option_groups ≤ 100
//                                                    (one of them), initial_option among them,
//                                                    placeholder plain_text ≤ 150, confirm, focus_on_load
//   block-kit/block-elements/overflow-menu-element   up to five options (url allowed), confirm
//   block-kit/block-elements/plain-text-input-element initial_value, multiline, min_length 0–3000,
//                                                    max_length 1–3000, dispatch_action_config,
//                                                    focus_on_load, placeholder ≤ 150
//   block-kit/block-elements/image-element           alt_text, image_url ≤ 3000 or slack_file
//   every element                                    action_id unique within its block
//   block-kit/composition-objects/text-object        type plain_text|mrkdwn, text 1–3000, emoji only on
//                                                    plain_text, verbatim only on mrkdwn
//   …/confirmation-dialog-object                     title plain_text ≤ 100, text ≤ 300, confirm ≤ 30,
//                                                    deny ≤ 30 (all required), style primary|danger
//   …/option-object                                  text plain_text ≤ 75, value ≤ 150, description ≤ 75,
//                                                    url ≤ 3000 (overflow menus only)
//   …/option-group-object                            label plain_text ≤ 75, options ≤ 100
//   views/modal-views                      title plain_text ≤ 24, blocks ≤ 100, close/submit ≤ 24 (submit
//                                          required with an input block), private_metadata ≤ 3000,
//                                          callback_id ≤ 255, clear_on_close, notify_on_close, external_id,
//                                          submit_disabled
//   views/home-tab-views                   blocks ≤ 100, private_metadata ≤ 3000, callback_id ≤ 255,
//                                          external_id
//
// Anything the bot does not use (rich_text, video, file, the other elements, …) is refused with a message
// saying the stand-in does not describe it yet: describe it here, from the reference, before using it.

export type Surface = 'message' | 'modal' | 'home';

export interface SchemaViolation {
  /** JSON pointer into the payload: `/blocks/3/fields/2/text`. */
  path: string;
  message: string;
}

/** `message [json-pointer:/blocks/0/text]`, the form of Slack's `errors` / `response_metadata.messages`. */
export const describeViolation = (v: SchemaViolation): string => `${v.message} [json-pointer:${v.path}]`;

export const BLOCKS_PER_SURFACE: Readonly<Record<Surface, number>> = { message: 50, modal: 100, home: 100 };

type Report = (path: string, message: string) => void;

interface Context {
  surface: Surface;
  report: Report;
  blockIds: Set<string>;
}

// ---------------------------------------------------------------------------------------------------
// Field specifications

type FieldSpec =
  | { kind: 'string'; min?: number; max?: number; oneOf?: readonly string[] }
  | { kind: 'boolean' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'text'; types: readonly TextType[]; max: number }
  | { kind: 'object'; spec: ObjectSpec }
  | { kind: 'list'; item: FieldSpec; min: number; max: number }
  | { kind: 'element'; allowed: readonly string[] }
  /** A view's `blocks`: checked by validateBlockList, with the view's surface. */
  | { kind: 'blocks' };

type TextType = 'plain_text' | 'mrkdwn';

interface ObjectSpec {
  /** Used in messages: `button`, `confirm object`. */
  name: string;
  required: readonly string[];
  fields: Readonly<Record<string, FieldSpec>>;
  /** Rules across fields (one of two, consistency). */
  check?: (value: Record<string, unknown>, path: string, ctx: Context) => void;
}

const str = (max: number, min = 0): FieldSpec => ({ kind: 'string', max, min });
const bool: FieldSpec = { kind: 'boolean' };
const plain = (max: number): FieldSpec => ({ kind: 'text', types: ['plain_text'], max });
const anyText = (max: number): FieldSpec => ({ kind: 'text', types: ['plain_text', 'mrkdwn'], max });
const list = (item: FieldSpec, max: number, min = 1): FieldSpec => ({ kind: 'list', item, min, max });
const object = (spec: ObjectSpec): FieldSpec => ({ kind: 'object', spec });
const element = (...allowed: string[]): FieldSpec => ({ kind: 'element', allowed });
const STYLE: FieldSpec = { kind: 'string', oneOf: ['primary', 'danger'] };
const ACTION_ID = str(255, 1);
const BLOCK_ID = str(255, 1);

const CONFIRM: ObjectSpec = {
  name: 'confirm object',
  required: ['title', 'text', 'confirm', 'deny'],
  fields: { title: plain(100), text: anyText(300), confirm: plain(30), deny: plain(30), style: STYLE },
};

const SLACK_FILE: ObjectSpec = {
  name: 'slack_file object',
  required: [],
  fields: { url: str(3000, 1), id: str(255, 1) },
  check: (value, path, ctx) => {
    if ((value.url === undefined) === (value.id === undefined)) {
      ctx.report(path, 'slack_file needs exactly one of url or id');
    }
  },
};

const optionSpec = (withUrl: boolean): ObjectSpec => ({
  name: 'option object',
  required: ['text', 'value'],
  fields: {
    text: plain(75),
    value: str(150, 1),
    description: plain(75),
    ...(withUrl ? { url: str(3000, 1) } : {}),
  },
});
const OPTION = optionSpec(false);

const OPTION_GROUP: ObjectSpec = {
  name: 'option group object',
  required: ['label', 'options'],
  fields: { label: plain(75), options: list(object(OPTION), 100) },
};

/** An image: exactly one of image_url or slack_file. */
const oneImageSource = (value: Record<string, unknown>, path: string, ctx: Context): void => {
  if ((value.image_url === undefined) === (value.slack_file === undefined)) {
    ctx.report(path, 'missing required field: image_url or slack_file (exactly one)');
  }
};

const ELEMENTS: Readonly<Record<string, ObjectSpec>> = {
  button: {
    name: 'button',
    required: ['type', 'text'],
    fields: {
      type: str(20),
      text: plain(75),
      action_id: ACTION_ID,
      url: str(3000, 1),
      value: str(2000),
      style: STYLE,
      confirm: object(CONFIRM),
      accessibility_label: str(75, 1),
    },
  },
  static_select: {
    name: 'static_select',
    required: ['type'],
    fields: {
      type: str(20),
      action_id: ACTION_ID,
      options: list(object(OPTION), 100),
      option_groups: list(object(OPTION_GROUP), 100),
      initial_option: object(OPTION),
      confirm: object(CONFIRM),
      focus_on_load: bool,
      placeholder: plain(150),
    },
    check: (value, path, ctx) => {
      if ((value.options === undefined) === (value.option_groups === undefined)) {
        ctx.report(path, 'static_select needs exactly one of options or option_groups');
      }
      const initial = isRecord(value.initial_option) ? value.initial_option.value : undefined;
      if (initial === undefined) return;
      const options = [
        ...(Array.isArray(value.options) ? value.options : []),
        ...(Array.isArray(value.option_groups) ? value.option_groups : []).flatMap((g) =>
          isRecord(g) && Array.isArray(g.options) ? g.options : [],
        ),
      ];
      if (!options.some((o) => isRecord(o) && o.value === initial)) {
        ctx.report(`${path}/initial_option`, 'initial_option must match one of the options');
      }
    },
  },
  overflow: {
    name: 'overflow',
    required: ['type', 'options'],
    fields: {
      type: str(20),
      action_id: ACTION_ID,
      options: list(object(optionSpec(true)), 5),
      confirm: object(CONFIRM),
    },
  },
  plain_text_input: {
    name: 'plain_text_input',
    required: ['type'],
    fields: {
      type: str(20),
      action_id: ACTION_ID,
      initial_value: str(3000),
      multiline: bool,
      min_length: { kind: 'integer', min: 0, max: 3000 },
      max_length: { kind: 'integer', min: 1, max: 3000 },
      dispatch_action_config: object({
        name: 'dispatch action configuration',
        required: [],
        fields: {
          trigger_actions_on: list(
            { kind: 'string', oneOf: ['on_enter_pressed', 'on_character_entered'] },
            2,
          ),
        },
      }),
      focus_on_load: bool,
      placeholder: plain(150),
    },
    check: (value, path, ctx) => {
      if (
        typeof value.min_length === 'number' &&
        typeof value.max_length === 'number' &&
        value.min_length > value.max_length
      ) {
        ctx.report(`${path}/min_length`, 'min_length is greater than max_length');
      }
    },
  },
  image: {
    name: 'image element',
    required: ['type', 'alt_text'],
    fields: {
      type: str(20),
      alt_text: str(2000, 1),
      image_url: str(3000, 1),
      slack_file: object(SLACK_FILE),
    },
    check: oneImageSource,
  },
};

interface BlockSpec extends ObjectSpec {
  surfaces: readonly Surface[];
}

const ALL_SURFACES: readonly Surface[] = ['message', 'modal', 'home'];

const BLOCKS: Readonly<Record<string, BlockSpec>> = {
  section: {
    name: 'section',
    surfaces: ALL_SURFACES,
    required: ['type'],
    fields: {
      type: str(20),
      block_id: BLOCK_ID,
      text: anyText(3000),
      fields: list(anyText(2000), 10),
      accessory: element('button', 'static_select', 'overflow', 'image'),
      expand: bool,
    },
    check: (value, path, ctx) => {
      if (value.text === undefined && value.fields === undefined) {
        ctx.report(path, 'missing required field: text or fields');
      }
    },
  },
  header: {
    name: 'header',
    surfaces: ALL_SURFACES,
    required: ['type', 'text'],
    fields: { type: str(20), block_id: BLOCK_ID, text: plain(150) },
  },
  context: {
    name: 'context',
    surfaces: ALL_SURFACES,
    required: ['type', 'elements'],
    fields: {
      type: str(20),
      block_id: BLOCK_ID,
      elements: list(element('image', 'plain_text', 'mrkdwn'), 10),
    },
  },
  divider: {
    name: 'divider',
    surfaces: ALL_SURFACES,
    required: ['type'],
    fields: { type: str(20), block_id: BLOCK_ID },
  },
  actions: {
    name: 'actions',
    surfaces: ALL_SURFACES,
    required: ['type', 'elements'],
    fields: {
      type: str(20),
      block_id: BLOCK_ID,
      elements: list(element('button', 'static_select', 'overflow'), 25),
    },
  },
  input: {
    name: 'input',
    surfaces: ['modal', 'home'],
    required: ['type', 'label', 'element'],
    fields: {
      type: str(20),
      block_id: BLOCK_ID,
      label: plain(2000),
      element: element('plain_text_input', 'static_select'),
      hint: plain(2000),
      optional: bool,
      dispatch_action: bool,
    },
  },
  image: {
    name: 'image',
    surfaces: ALL_SURFACES,
    required: ['type', 'alt_text'],
    fields: {
      type: str(20),
      block_id: BLOCK_ID,
      alt_text: str(2000, 1),
      image_url: str(3000, 1),
      slack_file: object(SLACK_FILE),
      title: plain(2000),
    },
    check: oneImageSource,
  },
};

// ---------------------------------------------------------------------------------------------------
// Surfaces

/** The `blocks` of chat.postMessage, chat.update, chat.postEphemeral or a response_url message. */
export function validateMessageBlocks(blocks: unknown): SchemaViolation[] {
  const violations: SchemaViolation[] = [];
  const report: Report = (path, message) => violations.push({ path, message });
  validateBlockList(blocks, '/blocks', { surface: 'message', report, blockIds: new Set() });
  return violations;
}

const MODAL: ObjectSpec = {
  name: 'modal view',
  required: ['type', 'title', 'blocks'],
  fields: {
    type: str(20),
    title: plain(24),
    blocks: { kind: 'blocks' },
    close: plain(24),
    submit: plain(24),
    private_metadata: str(3000),
    callback_id: str(255),
    clear_on_close: bool,
    notify_on_close: bool,
    external_id: str(255),
    submit_disabled: bool,
  },
  check: (value, path, ctx) => {
    const hasInput =
      Array.isArray(value.blocks) && value.blocks.some((b) => isRecord(b) && b.type === 'input');
    if (hasInput && value.submit === undefined) {
      ctx.report(`${path}/submit`, 'missing required field: submit (the view has an input block)');
    }
  },
};

const HOME: ObjectSpec = {
  name: 'home tab view',
  required: ['type', 'blocks'],
  fields: {
    type: str(20),
    blocks: { kind: 'blocks' },
    private_metadata: str(3000),
    callback_id: str(255),
    external_id: str(255),
  },
};

/** The `view` of views.open / views.update / views.push (modal) or views.publish (home). */
export function validateView(view: unknown, surface: 'modal' | 'home'): SchemaViolation[] {
  const violations: SchemaViolation[] = [];
  const report: Report = (path, message) => violations.push({ path, message });
  const ctx: Context = { surface, report, blockIds: new Set() };
  const path = '/view';
  if (!isRecord(view)) {
    report(path, 'view must be an object');
    return violations;
  }
  if (view.type !== surface) {
    report(`${path}/type`, `view type must be ${surface}, not ${JSON.stringify(view.type)}`);
    return violations;
  }
  validateObject(view, surface === 'modal' ? MODAL : HOME, path, ctx);
  return violations;
}

// ---------------------------------------------------------------------------------------------------
// The checks

function validateBlockList(blocks: unknown, path: string, ctx: Context): void {
  if (!Array.isArray(blocks)) {
    ctx.report(path, 'blocks must be an array');
    return;
  }
  const max = BLOCKS_PER_SURFACE[ctx.surface];
  if (blocks.length > max) ctx.report(path, `${blocks.length} blocks (limit ${max})`);
  blocks.forEach((block, i) => validateBlock(block, `${path}/${i}`, ctx));
}

function validateBlock(block: unknown, path: string, ctx: Context): void {
  if (!isRecord(block)) {
    ctx.report(path, 'block must be an object');
    return;
  }
  if (typeof block.type !== 'string') {
    ctx.report(`${path}/type`, 'missing required field: type');
    return;
  }
  const spec = BLOCKS[block.type];
  if (!spec) {
    ctx.report(`${path}/type`, `unknown or undescribed block type ${JSON.stringify(block.type)}`);
    return;
  }
  if (!spec.surfaces.includes(ctx.surface)) {
    ctx.report(`${path}/type`, `${spec.name} blocks are not allowed in a ${ctx.surface}`);
  }
  validateObject(block, spec, path, ctx);
  if (typeof block.block_id === 'string') {
    if (ctx.blockIds.has(block.block_id)) ctx.report(`${path}/block_id`, 'duplicate block_id');
    ctx.blockIds.add(block.block_id);
  }
  // action_ids: unique among the elements of one block.
  const inBlock = [block.accessory, block.element, ...(Array.isArray(block.elements) ? block.elements : [])];
  const seen = new Set<string>();
  for (const el of inBlock) {
    if (!isRecord(el) || typeof el.action_id !== 'string') continue;
    if (seen.has(el.action_id)) ctx.report(path, `duplicate action_id ${JSON.stringify(el.action_id)}`);
    seen.add(el.action_id);
  }
}

function validateObject(value: unknown, spec: ObjectSpec, path: string, ctx: Context): void {
  if (!isRecord(value)) {
    ctx.report(path, `${spec.name} must be an object`);
    return;
  }
  for (const key of spec.required) {
    if (value[key] === undefined) ctx.report(`${path}/${key}`, `missing required field: ${key}`);
  }
  for (const [key, field] of Object.entries(value)) {
    const fieldSpec = spec.fields[key];
    if (fieldSpec === undefined) {
      ctx.report(`${path}/${key}`, `unknown field ${JSON.stringify(key)} in ${spec.name}`);
      continue;
    }
    if (field === undefined) continue;
    validateField(field, fieldSpec, `${path}/${key}`, ctx);
  }
  spec.check?.(value, path, ctx);
}

function validateField(value: unknown, spec: FieldSpec, path: string, ctx: Context): void {
  switch (spec.kind) {
    case 'string': {
      if (typeof value !== 'string') return ctx.report(path, 'must be a string');
      if (spec.oneOf && !spec.oneOf.includes(value)) {
        return ctx.report(path, `must be one of ${spec.oneOf.join(', ')}, not ${JSON.stringify(value)}`);
      }
      if (spec.min !== undefined && value.length < spec.min) {
        ctx.report(path, `must be at least ${spec.min} character${spec.min === 1 ? '' : 's'}`);
      }
      if (spec.max !== undefined && value.length > spec.max) {
        ctx.report(path, `must be at most ${spec.max} characters (is ${value.length})`);
      }
      return;
    }
    case 'boolean':
      if (typeof value !== 'boolean') ctx.report(path, 'must be a boolean');
      return;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value))
        return ctx.report(path, 'must be an integer');
      if (value < spec.min || value > spec.max)
        ctx.report(path, `must be between ${spec.min} and ${spec.max}`);
      return;
    case 'text':
      return validateText(value, spec.types, spec.max, path, ctx);
    case 'object':
      return validateObject(value, spec.spec, path, ctx);
    case 'list': {
      if (!Array.isArray(value)) return ctx.report(path, 'must be an array');
      if (value.length < spec.min)
        ctx.report(path, `must have at least ${spec.min} item${spec.min === 1 ? '' : 's'}`);
      if (value.length > spec.max) ctx.report(path, `${value.length} items (limit ${spec.max})`);
      value.forEach((item, i) => validateField(item, spec.item, `${path}/${i}`, ctx));
      return;
    }
    case 'element':
      return validateElement(value, spec.allowed, path, ctx);
    case 'blocks':
      return validateBlockList(value, path, ctx);
  }
}

function validateText(
  value: unknown,
  types: readonly TextType[],
  max: number,
  path: string,
  ctx: Context,
): void {
  if (!isRecord(value)) return ctx.report(path, 'must be a text object');
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
    return ctx.report(
      `${path}/type`,
      `text object type must be plain_text or mrkdwn, not ${JSON.stringify(value.type)}`,
    );
  }
  if (!types.includes(value.type)) {
    return ctx.report(`${path}/type`, `must be ${types.join(' or ')}, not ${value.type}`);
  }
  validateObject(
    value,
    {
      name: `${value.type} text object`,
      required: ['type', 'text'],
      fields:
        value.type === 'plain_text'
          ? { type: str(20), text: str(Math.min(max, 3000), 1), emoji: bool }
          : { type: str(20), text: str(Math.min(max, 3000), 1), verbatim: bool },
    },
    path,
    ctx,
  );
}

function validateElement(value: unknown, allowed: readonly string[], path: string, ctx: Context): void {
  if (!isRecord(value)) return ctx.report(path, 'element must be an object');
  const type = value.type;
  if (typeof type !== 'string') return ctx.report(`${path}/type`, 'missing required field: type');
  if (!allowed.includes(type)) {
    return ctx.report(
      `${path}/type`,
      `${JSON.stringify(type)} is not allowed here (one of ${allowed.join(', ')})`,
    );
  }
  if (type === 'plain_text' || type === 'mrkdwn') return validateText(value, [type], 3000, path, ctx);
  const spec = ELEMENTS[type];
  if (!spec) return ctx.report(`${path}/type`, `undescribed element type ${JSON.stringify(type)}`);
  validateObject(value, spec, path, ctx);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
