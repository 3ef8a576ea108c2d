// X-Amzn-Trace-Id of a request (src/util/trace-id.ts): format, validation of a client's header, once per request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RequestContext } from '../../src/pipeline/context.js';
import { isValidTraceHeader, newTraceId, requestTraceId } from '../../src/util/trace-id.js';

const FORMAT = /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/;

function fakeCtx(rawHeaders: string[], startEpochMs = 1_718_635_725_000): RequestContext {
  return { traceId: '', req: { rawHeaders }, startEpochMs } as unknown as RequestContext;
}

describe('newTraceId', () => {
  it('is Root=1-<epoch seconds in 8 hex>-<24 hex random>', () => {
    const id = newTraceId(1_718_635_725_999);
    assert.match(id, FORMAT);
    assert.equal(id.slice(7, 15), (1_718_635_725).toString(16));
    assert.notEqual(newTraceId(0), newTraceId(0));
    assert.equal(newTraceId(0).slice(7, 15), '00000000');
  });
});

describe('isValidTraceHeader', () => {
  it('accepts the X-Ray forms (Root only, Root;Parent;Sampled, Self/Lineage/custom fields, any order)', () => {
    for (const v of [
      'Root=1-5759e988-bd862e3fe1be46a994272793',
      'Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?',
      'Self=1-67891234-12456789abcdef012345678a;Root=1-67891233-abcdef012345678912345678;CalledFrom=app',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0;Lineage=a87bd80c:0',
    ])
      assert.equal(isValidTraceHeader(v), true, v);
  });
  it('rejects anything else', () => {
    for (const v of [
      '',
      'abc',
      'Root=1-5759e988-bd862e3fe1be46a99427279', // 23 hex
      'Root=2-5759e988-bd862e3fe1be46a994272793',
      'Root=1-5759e98-bd862e3fe1be46a994272793',
      'Parent=7fa8c0f79203be72;Sampled=1', // no Root
      'Root=1-5759e988-bd862e3fe1be46a994272793;Root=1-5759e988-bd862e3fe1be46a994272793',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=yes',
      'Root=1-5759e988-bd862e3fe1be46a994272793; Parent=7fa8c0f79203be72',
      'Root=1-5759e988-bd862e3fe1be46a994272793, Root=1-5759e988-bd862e3fe1be46a994272794', // folded duplicates
      'Root=1-5759e988-bd862e3fe1be46a994272793;',
      `Root=1-5759e988-bd862e3fe1be46a994272793;X=${'a'.repeat(300)}`,
    ])
      assert.equal(isValidTraceHeader(v), false, v);
  });
});

describe('requestTraceId', () => {
  it('generates one id per request and reuses it', () => {
    const ctx = fakeCtx(['Host', 'h']);
    const a = requestTraceId(ctx);
    assert.match(a, FORMAT);
    assert.equal(a.slice(7, 15), (1_718_635_725).toString(16));
    assert.equal(requestTraceId(ctx), a);
    assert.equal(ctx.traceId, a);
  });
  it("keeps a client's valid header as given (first one, any name case)", () => {
    const sent = 'Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1';
    assert.equal(requestTraceId(fakeCtx(['x-amzn-TRACE-id', sent, 'X-Amzn-Trace-Id', 'Root=1-5759e988-bd862e3fe1be46a994272793'])), sent);
    assert.equal(requestTraceId(fakeCtx(['X-Amzn-Trace-Id', ` ${sent} `])), sent);
  });
  it('replaces an invalid client header with a new id', () => {
    const id = requestTraceId(fakeCtx(['X-Amzn-Trace-Id', 'Root=whatever']));
    assert.match(id, FORMAT);
  });
});
