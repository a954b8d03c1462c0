// The Block Kit the bot renders, typed with Slack's own types (@slack/types, a type-only import: nothing of
// it runs here), Slack's documented size limits, a checker for them, and the text helpers that keep every
// rendered message inside them.
//
// Each block type below *extends* the Slack type it stands for, only narrowing it (a section's accessory is
// always a button here, a context holds text only, a button always has an action_id), so every `Block`
// is a `KnownBlock` for the compiler: a misspelt type or field, or a block Slack does not know, does not
// compile (see the assertion after the types). At runtime the Slack stand-in checks every payload against
// its own reading of Slack's reference (src/sandbox/blockkit-schema.ts), not against this file.
//
// Limits: https://docs.slack.dev/reference/block-kit/blocks (per block type),
// https://docs.slack.dev/reference/block-kit/block-elements/button-element,
// https://docs.slack.dev/reference/methods/chat.postMessage (`text`; Slack truncates past 40,000 characters,
// we keep the notification fallback to 4,000 as the project rule).
import type {
  ActionsBlock as SlackActionsBlock,
  Button as SlackButton,
  ConfirmationDialog,
  ContextBlock as SlackContextBlock,
  DividerBlock as SlackDividerBlock,
  HeaderBlock as SlackHeaderBlock,
  InputBlock as SlackInputBlock,
  KnownBlock,
  MrkdwnElement,
  PlainTextElement,
  PlainTextInput,
  SectionBlock as SlackSectionBlock,
} from '@slack/types';

export type PlainTextObject = PlainTextElement;
export type MrkdwnTextObject = MrkdwnElement;
export type TextObject = PlainTextObject | MrkdwnTextObject;

/** Slack's confirmation dialog, with every part the bot always gives. */
export interface ConfirmObject extends ConfirmationDialog {
  title: PlainTextObject;
  text: PlainTextObject;
  confirm: PlainTextObject;
  deny: PlainTextObject;
}

export interface ButtonElement extends SlackButton {
  action_id: string;
  /** Slack asks "are you sure?" with this dialog before sending the click. */
  confirm?: ConfirmObject;
}

export type HeaderBlock = SlackHeaderBlock;

export interface SectionBlock extends SlackSectionBlock {
  text?: TextObject;
  fields?: TextObject[];
  accessory?: ButtonElement;
}

export interface ContextBlock extends SlackContextBlock {
  elements: TextObject[];
}

export type DividerBlock = SlackDividerBlock;

export interface ActionsBlock extends SlackActionsBlock {
  elements: ButtonElement[];
}

export type Block = HeaderBlock | SectionBlock | ContextBlock | DividerBlock | ActionsBlock;

/** The input blocks of the bot's modals: a plain-text field. */
export interface PlainTextInputBlock extends SlackInputBlock {
  element: PlainTextInput & { action_id: string };
}

/** What a modal may hold: the message blocks plus inputs. */
export type ModalBlock = Block | PlainTextInputBlock;

/** Compile-time proof that everything the bot renders is a block Slack knows. */
type Assert<T extends true> = T;
export type BlocksAreSlackBlocks = Assert<ModalBlock extends KnownBlock ? true : false>;

/** What a renderer hands to chat.postMessage / chat.update. */
export interface SlackMessage {
  /** Notification and accessibility fallback: one line. */
  text: string;
  blocks: Block[];
}

export const BLOCK_KIT_LIMITS = {
  blocksPerMessage: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  /** Slack documents no separate cap for context text; a text object never exceeds the section limit. */
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  blockId: 255,
  messageText: 4000,
} as const;

export interface BlockKitViolation {
  /** Where, JSONPath-like: `blocks[3].fields[2].text`. */
  path: string;
  /** One line a developer can act on: `section text is 3120 characters (limit 3000)`. */
  message: string;
}

// ---------------------------------------------------------------------------------------------------
// Checking

/**
 * Lists every way `blocks` breaks Slack's size and shape rules; empty means Slack will accept them.
 * Takes `unknown` values on purpose: the Slack stand-in feeds it whatever a client posted.
 */
export function checkBlockKitLimits(blocks: readonly unknown[]): BlockKitViolation[] {
  const violations: BlockKitViolation[] = [];
  const report = (path: string, message: string): void => {
    violations.push({ path, message });
  };
  if (blocks.length > BLOCK_KIT_LIMITS.blocksPerMessage) {
    report('blocks', `${blocks.length} blocks (limit ${BLOCK_KIT_LIMITS.blocksPerMessage})`);
  }
  const seenBlockIds = new Set<string>();
  blocks.forEach((block, index) => {
    const path = `blocks[${index}]`;
    if (!isRecord(block)) {
      report(path, 'block is not an object');
      return;
    }
    checkBlockId(block.block_id, path, seenBlockIds, report);
    BLOCK_CHECKERS[String(block.type)]?.(block, path, report);
  });
  return violations;
}

/** `checkBlockKitLimits` plus the top-level `text` rule. */
export function checkMessageLimits(message: {
  text?: unknown;
  blocks?: readonly unknown[];
}): BlockKitViolation[] {
  const violations = checkBlockKitLimits(message.blocks ?? []);
  if (typeof message.text === 'string' && message.text.length > BLOCK_KIT_LIMITS.messageText) {
    violations.unshift({
      path: 'text',
      message: `text is ${message.text.length} characters (limit ${BLOCK_KIT_LIMITS.messageText})`,
    });
  }
  return violations;
}

type Report = (path: string, message: string) => void;
type BlockChecker = (block: Record<string, unknown>, path: string, report: Report) => void;

const BLOCK_CHECKERS: Readonly<Record<string, BlockChecker>> = {
  header: (block, path, report) => {
    checkText(block.text, `${path}.text`, 'header text', BLOCK_KIT_LIMITS.headerText, report, 'plain_text');
  },
  section: (block, path, report) => {
    if (block.text === undefined && block.fields === undefined) {
      report(path, 'section has neither text nor fields');
    }
    if (block.text !== undefined) {
      checkText(block.text, `${path}.text`, 'section text', BLOCK_KIT_LIMITS.sectionText, report);
    }
    if (block.fields !== undefined) {
      checkList(
        block.fields,
        `${path}.fields`,
        'section fields',
        BLOCK_KIT_LIMITS.sectionFields,
        report,
        (f, p) => checkText(f, p, 'section field', BLOCK_KIT_LIMITS.sectionFieldText, report),
      );
    }
    if (block.accessory !== undefined && isRecord(block.accessory) && block.accessory.type === 'button') {
      checkButton(block.accessory, `${path}.accessory`, report);
    }
  },
  context: (block, path, report) => {
    checkList(
      block.elements,
      `${path}.elements`,
      'context elements',
      BLOCK_KIT_LIMITS.contextElements,
      report,
      (e, p) => {
        // Image elements have no text; only check text objects.
        if (isRecord(e) && e.type !== 'image')
          checkText(e, p, 'context text', BLOCK_KIT_LIMITS.contextText, report);
      },
    );
  },
  actions: (block, path, report) => {
    checkList(
      block.elements,
      `${path}.elements`,
      'actions elements',
      BLOCK_KIT_LIMITS.actionsElements,
      report,
      (e, p) => {
        if (isRecord(e) && e.type === 'button') checkButton(e, p, report);
      },
    );
  },
};

function checkBlockId(blockId: unknown, path: string, seen: Set<string>, report: Report): void {
  if (blockId === undefined) return;
  if (typeof blockId !== 'string' || blockId.length === 0) {
    report(`${path}.block_id`, 'block_id must be a non-empty string');
    return;
  }
  if (blockId.length > BLOCK_KIT_LIMITS.blockId) {
    report(
      `${path}.block_id`,
      `block_id is ${blockId.length} characters (limit ${BLOCK_KIT_LIMITS.blockId})`,
    );
  }
  if (seen.has(blockId)) report(`${path}.block_id`, `duplicate block_id "${blockId.slice(0, 40)}"`);
  seen.add(blockId);
}

function checkList(
  list: unknown,
  path: string,
  what: string,
  limit: number,
  report: Report,
  checkItem: (item: unknown, path: string) => void,
): void {
  if (!Array.isArray(list) || list.length === 0) {
    report(path, `${what} must be a non-empty list`);
    return;
  }
  if (list.length > limit) report(path, `${list.length} ${what} (limit ${limit})`);
  list.forEach((item, index) => checkItem(item, `${path}[${index}]`));
}

function checkText(
  value: unknown,
  path: string,
  what: string,
  limit: number,
  report: Report,
  requiredType?: TextObject['type'],
): void {
  if (!isRecord(value) || typeof value.text !== 'string') {
    report(path, `${what} is not a text object`);
    return;
  }
  if (requiredType !== undefined && value.type !== requiredType) {
    report(path, `${what} must be ${requiredType}, not ${String(value.type)}`);
  } else if (value.type !== 'plain_text' && value.type !== 'mrkdwn') {
    report(path, `${what} has unknown type ${String(value.type)}`);
  }
  if (value.text.length === 0) report(path, `${what} is empty`);
  if (value.text.length > limit) report(path, `${what} is ${value.text.length} characters (limit ${limit})`);
}

function checkButton(button: Record<string, unknown>, path: string, report: Report): void {
  checkText(button.text, `${path}.text`, 'button text', BLOCK_KIT_LIMITS.buttonText, report, 'plain_text');
  const capped: Array<[string, number]> = [
    ['action_id', BLOCK_KIT_LIMITS.actionId],
    ['value', BLOCK_KIT_LIMITS.buttonValue],
    ['url', BLOCK_KIT_LIMITS.buttonUrl],
  ];
  for (const [key, limit] of capped) {
    const value = button[key];
    if (typeof value === 'string' && value.length > limit) {
      report(`${path}.${key}`, `button ${key} is ${value.length} characters (limit ${limit})`);
    }
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------------
// Text

/** Escapes the three characters Slack mrkdwn treats as control characters. */
export const escapeMrkdwn = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const ELLIPSIS = '…';
const omissionNote = (omitted: number, unit: string): string =>
  `${ELLIPSIS} (${omitted.toLocaleString('en-US')} more ${unit}${omitted === 1 ? '' : 's'})`;

/**
 * Cuts `text` to at most `max` UTF-16 units (what Slack counts, conservatively), ending with
 * "… (1,234 more characters)". Never splits a surrogate pair. For plain text; mrkdwn uses fitMrkdwn.
 */
export function truncate(text: string, max: number): string {
  return cut(text, max, (head) => head);
}

/**
 * Like truncate, for mrkdwn we or Slack built: never leaves half an entity (`&am`) or half a link,
 * mention or date (`<https://…`), which Slack would show as garbage or drop.
 */
export function fitMrkdwn(text: string, max: number): string {
  return cut(text, max, backOffFromOpenMarkup);
}

function cut(text: string, max: number, adjust: (head: string) => string): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  // The note for the whole text is the widest it can get, so reserving its width always leaves room.
  const widestNote = omissionNote(text.length, 'character').length;
  if (max <= widestNote) return adjust(safeSlice(text, max - 1)) + ELLIPSIS;
  const head = adjust(safeSlice(text, max - widestNote));
  return head + omissionNote(text.length - head.length, 'character');
}

function safeSlice(text: string, length: number): string {
  const head = text.slice(0, length);
  const last = head.charCodeAt(head.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? head.slice(0, -1) : head;
}

function backOffFromOpenMarkup(head: string): string {
  const openAngle = head.lastIndexOf('<');
  if (openAngle > head.lastIndexOf('>')) head = head.slice(0, openAngle);
  const amp = head.lastIndexOf('&');
  // Our entities are at most 5 characters long (`&amp;`); a later `;` closes them.
  if (amp >= 0 && amp >= head.length - 5 && head.indexOf(';', amp) === -1) head = head.slice(0, amp);
  return head;
}

/** "… and 3 more steps" — for lists cut to fit, so nobody mistakes a partial list for the whole. */
export const moreItemsNote = (omitted: number, unit: string): string =>
  `${ELLIPSIS} and ${omitted.toLocaleString('en-US')} more ${unit}${omitted === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------------
// Builders that respect the limits by construction

export const plainText = (text: string, max: number): PlainTextObject => ({
  type: 'plain_text',
  text: truncate(nonEmpty(text), max),
  emoji: true,
});

export const mrkdwn = (text: string, max: number = BLOCK_KIT_LIMITS.sectionText): MrkdwnTextObject => ({
  type: 'mrkdwn',
  text: fitMrkdwn(nonEmpty(text), max),
});

export const headerBlock = (text: string): HeaderBlock => ({
  type: 'header',
  text: plainText(text, BLOCK_KIT_LIMITS.headerText),
});

export const sectionBlock = (text: string): SectionBlock => ({ type: 'section', text: mrkdwn(text) });

export const fieldsBlock = (fields: readonly string[]): SectionBlock => ({
  type: 'section',
  fields: fields
    .slice(0, BLOCK_KIT_LIMITS.sectionFields)
    .map((field) => mrkdwn(field, BLOCK_KIT_LIMITS.sectionFieldText)),
});

export const contextBlock = (elements: readonly string[]): ContextBlock => ({
  type: 'context',
  elements: elements
    .slice(0, BLOCK_KIT_LIMITS.contextElements)
    .map((element) => mrkdwn(element, BLOCK_KIT_LIMITS.contextText)),
});

/** Slack rejects empty text objects; a visible placeholder beats a failed chat.update. */
const nonEmpty = (text: string): string => (text.trim() === '' ? '—' : text);
