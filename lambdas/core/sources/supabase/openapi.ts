import { UsageError } from '../../errors.js';
import { qualifiedTableName, type ColumnInfo, type ForeignKeyInfo } from '../../format/manifest.js';
import type { SourceTable } from '../source.js';

/** The REST description: the OpenAPI 2 document PostgREST serves at its root, read as table shapes. */

export interface OpenApiProperty {
  readonly format?: string;
  readonly type?: string;
  readonly description?: string;
  readonly maxLength?: number;
}
export interface OpenApiDefinition {
  readonly properties?: Record<string, OpenApiProperty>;
  readonly required?: string[];
}
export interface OpenApiDocument {
  readonly definitions?: Record<string, OpenApiDefinition>;
  readonly paths?: Record<string, Record<string, unknown>>;
}

/** `public.order_status[]` -> `order_status[]`: types as `format_type` names them, schema left out. */
export function restTypeName(property: OpenApiProperty): string {
  let type = (property.format ?? property.type ?? 'unknown').trim();
  const qualified = /^(?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)\.(.+)$/.exec(type);
  if (qualified) type = qualified[1]!;
  if (property.maxLength !== undefined && (type === 'character' || type === 'character varying')) type = `${type}(${property.maxLength})`;
  return type;
}

function isJsonType(type: string): boolean {
  return /^jsonb?(\[\])*$/.test(type);
}

/** Builds the table shape from its REST description: columns, primary key (`<pk/>`), foreign keys (`<fk …/>`). */
export function shapeFromDefinition(schema: string, name: string, definition: OpenApiDefinition, generated: readonly string[] = []): SourceTable {
  const qualified = qualifiedTableName(schema, name);
  const properties = Object.entries(definition.properties ?? {});
  const required = new Set(definition.required ?? []);
  const unknownGenerated = generated.filter((g) => !properties.some(([n]) => n === g));
  if (unknownGenerated.length) throw new UsageError(`generatedColumns names column${unknownGenerated.length > 1 ? 's' : ''} ${unknownGenerated.join(', ')} that ${qualified} does not have`);
  const columns: ColumnInfo[] = properties
    .filter(([n]) => !generated.includes(n))
    .map(([n, p]) => {
      const type = restTypeName(p);
      return { name: n, type, nullable: !required.has(n), encoding: isJsonType(type) ? 'text' : 'json' };
    });
  const primaryKey = properties.filter(([, p]) => p.description?.includes('<pk/>')).map(([n]) => n);
  const foreignKeys: ForeignKeyInfo[] = [];
  for (const [n, p] of properties) {
    for (const match of (p.description ?? '').matchAll(/<fk table='([^']*)' column='([^']*)'\/>/g)) {
      foreignKeys.push({ name: `${name}_${n}_fkey`, columns: [n], references: qualifiedTableName(schema, match[1]!), referencedColumns: [match[2]!], deferrable: false });
    }
  }
  return { schema, name, qualified, columns, generatedColumns: [...generated], primaryKey, foreignKeys, estimatedRows: 0, estimatedBytes: 0 };
}

