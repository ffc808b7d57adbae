import { z } from 'zod';

/** Pieces every part of the OpenAPI description uses. */
export const json = (schema: z.ZodType) => ({ 'application/json': { schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) } });
/** A response's shape: what the schema's parse gives, the way presenters build it (no extra fields). */
export const output = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' });
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** A JSON answer with a schema (a `ref`, or an inline JSON Schema). */
export const ok = (description: string, schema: object) => ({ description, content: { 'application/json': { schema } } });
/** `{data: Item[]}`, as the unpaged lists answer. */
export const list = (item: string) => ({ type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref(item) } } });
export const errorBody = {
  description: 'Error',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
          },
        },
      },
    },
  },
};
export const queryParams = (schema: z.ZodObject) =>
  Object.entries(schema.shape).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: z.toJSONSchema(s as z.ZodType, { io: 'input', unrepresentable: 'any' }),
  }));
export const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
