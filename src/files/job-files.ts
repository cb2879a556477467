// Job files (DESIGN.md "Job files"): reading them into schedule definitions in the columns'
// terms, each able to say on which line of its file a field lies. What the fields may hold is
// the database's to say (apply.ts); here only the shape of a file is checked.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import {
  findNodeAtLocation,
  type Node as JsonNode,
  parse as parseJson,
  type ParseError,
  parseTree,
  printParseErrorCode,
} from 'jsonc-parser';
import { type Document, LineCounter, type Node as YamlNode, parseAllDocuments } from 'yaml';

import { BatonError, errorMessage } from '../core/errors.ts';

export type Definition = Record<string, unknown>;

/** A schedule of a job file: its definition (columns, `name` among them, or a `schedule` spec) and where it lies. */
export interface FileSchedule {
  definition: Definition;
  /** The line of a field the database named (`cron`, `payload.command`), else of the schedule. */
  lineOf(field?: string): number;
}

/** Why a file, or a schedule in it, was not applied. */
export interface FileError {
  file: string;
  line?: number;
  schedule?: string;
  field?: string;
  message: string;
}

export interface JobFile {
  /** Relative to the working directory where the file lies within it, else absolute. */
  path: string;
  schedules: FileSchedule[];
  /** Set when the file could not be read or has the wrong shape: none of it is applied. */
  error?: FileError;
}

/** Whether a file found in a directory is a job file: `*.json`, `*.yaml`, `*.yml`, not hidden (editors' swap files). */
export function isJobFileName(name: string): boolean {
  return /\.(json|ya?ml)$/i.test(name) && !path.basename(name).startsWith('.');
}

/**
 * The job files under `paths`, sorted: a file as given, a directory's job files at any depth
 * (hidden entries skipped). A path that does not exist is refused (BatonError, invalid): it
 * is a mistake on the command line, not a file in error.
 */
export async function findJobFiles(paths: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (isJobFileName(entry.name)) found.add(displayPath(full));
    }
  };
  for (const given of paths) {
    const info = await stat(given).catch(() => null);
    if (!info) throw new BatonError(`${given}: no such file or directory`, 'invalid', 'path');
    if (info.isDirectory()) await walk(given);
    else found.add(displayPath(given));
  }
  return [...found].sort();
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative.startsWith('..') || path.isAbsolute(relative) ? path.resolve(file) : relative;
}

/** Reads and parses one job file; a failure to read or parse is the file's error. */
export async function readJobFile(file: string): Promise<JobFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { path: file, schedules: [], error: { file, message: `cannot read: ${errorMessage(error)}` } };
  }
  return parseJobFile(file, text);
}

/** A path in a parsed document: keys and list indexes. */
type DocumentPath = Array<string | number>;

/** A parsed document: its value, and the line of a path in it, if the document has that path. */
interface ParsedDocument {
  value: unknown;
  lineOf(path: DocumentPath): number | undefined;
}

/**
 * A job file's schedules. A JSON file must be strict JSON (JSON.parse); a YAML file may hold
 * several documents. Where a value lies is looked up only when a refusal needs its line.
 */
function parseJobFile(file: string, text: string): JobFile {
  const parsed = /\.json$/i.test(file) ? readJson(text) : readYaml(text);
  const fail = (message: string, line?: number): JobFile => ({
    path: file,
    schedules: [],
    error: { file, message, ...(line === undefined ? {} : { line }) },
  });
  if ('message' in parsed) return fail(parsed.message, parsed.line);
  const schedules: FileSchedule[] = [];
  for (const document of parsed) {
    const found = schedulesOf(document.value);
    if (typeof found === 'string') return fail(found, document.lineOf([]) ?? 1);
    for (const { value, path: at } of found) {
      // The line of the deepest part of `keys` under this schedule that the document has.
      const lineOf = (keys: string[]) => {
        for (let depth = keys.length; depth >= 0; depth--) {
          const line = document.lineOf([...at, ...keys.slice(0, depth)]);
          if (line !== undefined) return line;
        }
        return 1;
      };
      const shaped = isPlainObject(value) ? fromChronoflow(value) : { definition: value as Definition };
      if ('error' in shaped) return fail(shaped.error.message, lineOf(shaped.path));
      const layout = shaped.layout ?? (isPlainObject(value) && 'schedule' in value ? columnsWithSpec : columns);
      schedules.push({
        definition: shaped.definition,
        lineOf: (field) => lineOf(field ? layout(field.split('.')) : []),
      });
    }
  }
  return { path: file, schedules };
}

function readJson(text: string): ParsedDocument[] | { message: string; line: number } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // JSON.parse's message has no line on Node 20; jsonc-parser says where and what.
    const errors: ParseError[] = [];
    parseJson(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const [first] = errors;
    if (!first) return { message: `not JSON: ${errorMessage(error)}`, line: 1 };
    const what = printParseErrorCode(first.error)
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase();
    return { message: `not JSON: ${what}`, line: lineAtOffset(text, first.offset) };
  }
  let tree: JsonNode | undefined;
  return [
    {
      value,
      lineOf(path) {
        tree ??= parseTree(text);
        const node = tree && findNodeAtLocation(tree, path);
        return node && lineAtOffset(text, node.offset);
      },
    },
  ];
}

function readYaml(text: string): ParsedDocument[] | { message: string; line: number } {
  let values: unknown[];
  try {
    // js-yaml reads values (fast); the core schema, as YAML 1.2 says, so `2026-12-24` stays text.
    values = loadAll(text, undefined, { schema: CORE_SCHEMA });
  } catch (error) {
    if (!(error instanceof YAMLException)) throw error;
    return { message: error.reason, line: error.mark.line + 1 };
  }
  // `yaml` knows where each value lies; parsed only when a refusal needs a line.
  let documents: Document.Parsed[] | undefined;
  const lines = new LineCounter();
  return values.map((value, index) => ({
    value,
    lineOf(path) {
      documents ??= parseAllDocuments(text, { lineCounter: lines }) as Document.Parsed[];
      const document = documents[index];
      const node = (path.length === 0 ? document?.contents : document?.getIn(path, true)) as
        YamlNode | null | undefined;
      return node?.range ? lines.linePos(node.range[0]).line : undefined;
    },
  }));
}

function lineAtOffset(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) line++;
  return line;
}

/** The schedules of a document: one schedule, a list, or `{ schedules: [...] }`, each with its path; or what is wrong. */
function schedulesOf(value: unknown): Array<{ value: unknown; path: DocumentPath }> | string {
  if (value === null || value === undefined) return [];
  const list = (items: unknown[], under: DocumentPath) =>
    items.map((item, i) => ({ value: item, path: [...under, i] }));
  if (Array.isArray(value)) return list(value, []);
  if (isPlainObject(value)) {
    if (!('schedules' in value)) return [{ value, path: [] }];
    if (Object.keys(value).length === 1 && Array.isArray(value.schedules)) return list(value.schedules, ['schedules']);
  }
  return 'a job file holds a schedule, a list of schedules, or { "schedules": [...] }';
}

/** A field path of the database (['payload', 'command']) as a path in the file. */
type Layout = (field: string[]) => string[];
const columns: Layout = (field) => field;
const timingFields = new Set(['cron', 'every', 'run_at']);
const columnsWithSpec: Layout = ([head, ...rest]) => (timingFields.has(head!) ? ['schedule'] : [head!, ...rest]);
const chronoflow: Layout = ([head, ...rest]) => {
  if (head === 'name') return ['job_id'];
  if (head === 'task') return ['task', 'type'];
  if (head === 'payload') return ['task', ...rest];
  return columnsWithSpec([head!, ...rest]);
};

const taskOfType: Record<string, string> = { execute_command: 'shell', http_request: 'http' };

/**
 * The chronoflow format (`job_id`, `description`, `schedule`, `task: { type, ... }`) in the
 * columns' terms: `execute_command` runs `shell`, `http_request` runs `http`, and the task's
 * other fields are the payload. Any other field is a column, as in the columns' format.
 */
function fromChronoflow(
  value: Definition,
): { definition: Definition; layout?: Layout } | { error: Pick<FileError, 'field' | 'message'>; path: string[] } {
  const { job_id: jobId, task, ...rest } = value;
  if (jobId === undefined && !isPlainObject(task)) return { definition: value };
  const refuse = (field: string, message: string) => ({
    error: { field, message: `${field}: ${message}` },
    path: field.split('.'),
  });
  if (jobId !== undefined && 'name' in rest) return refuse('job_id', 'give job_id or name, not both');
  if (!isPlainObject(task)) return refuse('task', 'must be an object with a type (execute_command or http_request)');
  const { type, ...payload } = task;
  const name = typeof type === 'string' ? taskOfType[type] : undefined;
  if (!name) return refuse('task.type', `${JSON.stringify(type)} must be execute_command or http_request`);
  if ('payload' in rest) return refuse('payload', "give the task's fields in task, not in payload");
  return {
    definition: { ...rest, ...(jobId === undefined ? {} : { name: jobId }), task: name, payload },
    layout: chronoflow,
  };
}

function isPlainObject(value: unknown): value is Definition {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
