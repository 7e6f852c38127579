// A hand-written DB in the shape `stk gen types --lang ts` writes (the issue
// 15 contract): the type tests below compile calls against it.
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export type DB = {
  connections: {
    main: {
      tables: {
        todos: {
          Row: { done: boolean; id: number; owner: string | null; tags: string[] | null; title: string };
          Insert: { done?: boolean; id?: number; owner?: string | null; tags?: string[] | null; title: string };
          Update: { done?: boolean; id?: number; owner?: string | null; tags?: string[] | null; title?: string };
        };
        users: {
          Row: { id: number; meta: Json | null; name: string };
          Insert: { id?: number; meta?: Json | null; name: string };
          Update: { id?: number; meta?: Json | null; name?: string };
        };
      };
    };
  };
  logics: {
    "todos/add": { params: { title: string }; result: {}; readonly: false };
    "todos/mine": { params: { limit?: number }; result: { done: boolean; id: number; title: string }; readonly: true };
  };
};
