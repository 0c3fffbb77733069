import { v7 as uuidv7 } from 'uuid';

/** Time-sortable unique id (UUIDv7) for every stored entity. */
export function newId(): string {
  return uuidv7();
}
