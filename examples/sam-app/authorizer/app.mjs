// A Lambda TOKEN authorizer: "Bearer reader-<name>" may call every method of the API.
export const handler = async (event) => {
  const m = /^Bearer reader-([a-z]+)$/.exec(event.authorizationToken ?? '');
  if (!m) throw new Error('Unauthorized');
  // methodArn: arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH
  const [api, stage] = event.methodArn.split('/');
  return {
    principalId: m[1],
    policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${api}/${stage}/*` }] },
  };
};
