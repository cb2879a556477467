// Job files (DESIGN.md "Job files"): reading them into schedule definitions in the columns'
// terms, each able to say on which line of its file a field lies. What the fields may hold is
// the database's to say (apply.ts); here only the shape of a file is checked.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { parse as parseJson, type ParseError, printParseErrorCode } from 'jsonc-parser';
import { isMap, isSeq, LineCounter, type Node as YamlNode, parseAllDocuments } from 'yaml';

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

/**
 * A job file's schedules. JSON files must be strict JSON; both are then read by the YAML 1.2
 * parser (JSON is YAML), which knows where each value lies. A YAML file may hold several
 * documents.
 */
export function parseJobFile(file: string, text: string): JobFile {
  const fail = (message: string, line?: number): JobFile => ({
    path: file,
    schedules: [],
    error: { file, message, ...(line === undefined ? {} : { line }) },
  });
  const lines = new LineCounter();
  const lineAt = (offset: number) => lines.linePos(offset).line;
  if (/\.json$/i.test(file)) {
    const [jsonError] = jsonErrors(text);
    if (jsonError) return fail(`not JSON: ${jsonError.message}`, jsonError.line);
  }
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const schedules: FileSchedule[] = [];
  for (const document of documents) {
    const [parseError] = document.errors;
    if (parseError) return fail(parseError.message, lineAt(parseError.pos[0]));
    const found = schedulesOf(document.contents);
    if (typeof found === 'string') return fail(found, document.contents ? lineAt(document.contents.range![0]) : 1);
    for (const node of found) {
      const value = node.toJSON() as unknown;
      const line = lineAt(node.range![0]);
      const shaped = isPlainObject(value) ? fromChronoflow(value) : { definition: value as Definition };
      if ('error' in shaped) {
        return {
          path: file,
          schedules: [],
          error: { file, line: lineOfPath(node, shaped.path, lineAt) ?? line, ...shaped.error },
        };
      }
      const layout = shaped.layout ?? (isPlainObject(value) && 'schedule' in value ? columnsWithSpec : columns);
      schedules.push({
        definition: shaped.definition,
        lineOf: (field) => (field ? lineOfPath(node, layout(field.split('.')), lineAt) : undefined) ?? line,
      });
    }
  }
  return { path: file, schedules };
}

/** The schedule nodes of a document: one schedule, a list, or `{ schedules: [...] }`; or what is wrong. */
function schedulesOf(contents: YamlNode | null): YamlNode[] | string {
  const shape = 'a job file holds a schedule, a list of schedules, or { "schedules": [...] }';
  if (contents === null) return [];
  if (isMap(contents)) {
    const list = contents.get('schedules', true);
    if (list === undefined) return [contents];
    if (contents.items.length > 1 || !isSeq(list)) return shape;
    return list.items as YamlNode[];
  }
  if (isSeq(contents)) return contents.items as YamlNode[];
  return shape;
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

/** The line of the deepest node of `keys` that the file has, if any. */
function lineOfPath(node: YamlNode, keys: string[], lineAt: (offset: number) => number): number | undefined {
  for (let depth = keys.length; depth > 0; depth--) {
    const found = isMap(node) ? (node.getIn(keys.slice(0, depth), true) as YamlNode | undefined) : undefined;
    if (found?.range) return lineAt(found.range[0]);
  }
  return undefined;
}

/** Where strict JSON (no comments, no trailing commas) is broken, and how. */
function jsonErrors(text: string): Array<{ message: string; line: number }> {
  const errors: ParseError[] = [];
  parseJson(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return errors.map(({ error, offset }) => ({
    message: printParseErrorCode(error)
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase(),
    line: text.slice(0, offset).split('\n').length,
  }));
}

function isPlainObject(value: unknown): value is Definition {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
