// The shapes of requests and answers: they validate requests and make the OpenAPI document
// (GET /api/v1/openapi.json). Field names are the columns of baton.schedules and baton.runs;
// values are checked by the database, which names the field it refuses.
import { type Static, Type } from 'typebox';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
/** An interval as Postgres reads it ('30 seconds', '00:05:00') or a number of seconds. */
const Interval = Nullable(Type.Union([Type.String(), Type.Number()]));
const Instant = Nullable(Type.String({ description: 'an ISO 8601 timestamp' }));
const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** The fields a person sets of a schedule (DESIGN.md "Schedules"): all optional here, as in PATCH. */
const scheduleFields = {
  cron: Type.Optional(Nullable(Type.String())),
  every: Type.Optional(Interval),
  interval: Type.Optional(
    Type.Object(
      {
        seconds: Type.Optional(Type.Number()),
        minutes: Type.Optional(Type.Number()),
        hours: Type.Optional(Type.Number()),
        days: Type.Optional(Type.Number()),
        weeks: Type.Optional(Type.Number()),
      },
      { additionalProperties: false, description: 'instead of every: its parts' },
    ),
  ),
  run_at: Type.Optional(Instant),
  task: Type.Optional(Type.String()),
  payload: Type.Optional(JsonObject),
  enabled: Type.Optional(Type.Boolean()),
  timezone: Type.Optional(Type.String()),
  starts_at: Type.Optional(Instant),
  ends_at: Type.Optional(Instant),
  queue: Type.Optional(Nullable(Type.String())),
  priority: Type.Optional(Type.Integer()),
  max_attempts: Type.Optional(Type.Integer()),
  timeout: Type.Optional(Interval),
  overlap: Type.Optional(Type.String()),
  misfire: Type.Optional(Type.String()),
  catchup_window: Type.Optional(Interval),
  jitter: Type.Optional(Interval),
  description: Type.Optional(Nullable(Type.String())),
  labels: Type.Optional(JsonObject),
  allow_unknown_task: Type.Optional(Type.Boolean()),
};

export const ScheduleBody = Type.Object(scheduleFields, { additionalProperties: false });
export type ScheduleBody = Static<typeof ScheduleBody>;
export const NewScheduleBody = Type.Object({ name: Type.String(), ...scheduleFields }, { additionalProperties: false });
export type NewScheduleBody = Static<typeof NewScheduleBody>;

export const NameParams = Type.Object({ name: Type.String() });
export const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,18}$' }) });

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }));
export const ScheduleQuery = Type.Object(
  {
    state: Type.Optional(Type.String()),
    task: Type.Optional(Type.String()),
    label: Type.Optional(Type.String({ pattern: '^[^:]+:', description: 'key:value' })),
    limit: Limit,
    cursor: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export const RunQuery = Type.Object(
  {
    schedule: Type.Optional(Type.String()),
    status: Type.Optional(Type.String()),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Limit,
    cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$' })),
  },
  { additionalProperties: false },
);
export const DetailQuery = Type.Object(
  { fires: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5, description: 'how many next fires' })) },
  { additionalProperties: false },
);
export const PurgeQuery = Type.Object({ purge: Type.Optional(Type.Boolean()) }, { additionalProperties: false });

export const TriggerBody = Type.Union([
  Type.Object({ payload: Type.Optional(JsonObject) }, { additionalProperties: false }),
  Type.Null(),
]);
export const RunBody = Type.Object(
  {
    task: Type.String(),
    payload: Type.Optional(JsonObject),
    name: Type.Optional(Type.String()),
    queue: Type.Optional(Nullable(Type.String())),
    priority: Type.Optional(Type.Integer()),
    max_attempts: Type.Optional(Type.Integer()),
    timeout: Type.Optional(Interval),
  },
  { additionalProperties: false },
);

/** A schedule: its row and its status (baton.schedule_status), as baton.schedule_items has it. */
const scheduleItemFields = {
  id: Type.Integer(),
  name: Type.String(),
  task: Type.String(),
  state: Type.String(),
  next_fire_at: Instant,
  last_fire_at: Instant,
  last_status: Nullable(Type.String()),
};
export const ScheduleItem = Type.Object(scheduleItemFields, { additionalProperties: true });
/** One schedule asked for by name: its next fires (as baton.preview gives them), last runs and last changes too. */
export const ScheduleDetail = Type.Object(
  {
    ...scheduleItemFields,
    next_fires: Type.Array(JsonObject),
    recent_runs: Type.Array(JsonObject),
    changes: Type.Array(JsonObject),
  },
  { additionalProperties: true },
);
export const SchedulePage = Type.Object({
  items: Type.Array(ScheduleItem),
  next_cursor: Nullable(Type.String()),
});

/** A run: its row of baton.runs (the output tails only where one run is asked for). */
export const RunItem = Type.Object(
  {
    id: Type.Integer(),
    schedule_id: Nullable(Type.Integer()),
    schedule_name: Type.String(),
    kind: Type.String(),
    status: Type.String(),
    fire_at: Type.String(),
    task: Type.String(),
  },
  { additionalProperties: true },
);
export const RunPage = Type.Object({ items: Type.Array(RunItem), next_cursor: Nullable(Type.String()) });

export const TaskList = Type.Object({
  tasks: Type.Array(
    Type.Object(
      { name: Type.String(), description: Nullable(Type.String()), offered_by: Type.Array(Type.String()) },
      { additionalProperties: true },
    ),
  ),
});
const NodeItem = Type.Object(
  { id: Type.String(), roles: Type.Array(Type.String()), is_leader: Type.Boolean(), heartbeat_at: Type.String() },
  { additionalProperties: true },
);
export const Cluster = Type.Object({
  leader: Nullable(NodeItem),
  nodes: Type.Array(NodeItem),
  leader_changes: Type.Array(
    Type.Object({ at: Type.String(), node_id: Nullable(Type.String()) }, { additionalProperties: true }),
    { description: 'who took the lead over the last day, newest first' },
  ),
});

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
);
