-- trailhound query, phase 1 (lake): the credential-issuing calls, for the session graph
SELECT eventtime, eventid, eventname, eventjson
FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE
WHERE eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetSessionToken', 'GetFederationToken', 'AssumeRoot', 'CreateAccessKey', 'CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile', 'CreateRole', 'UpdateAssumeRolePolicy', 'RunInstances', 'CreateFunction20150331', 'CreateFunction', 'UpdateFunctionCode20150331v2', 'UpdateFunctionCode20150331', 'UpdateFunctionCode', 'UpdateFunctionConfiguration20150331v2', 'UpdateFunctionConfiguration20150331', 'UpdateFunctionConfiguration', 'UpdateSAMLProvider', 'CreateSAMLProvider', 'UpdateUser', 'DeleteUser', 'DeleteRole', 'GetSigninToken', 'GetOpenIdTokenForDeveloperIdentity', 'ConsoleLogin')
  AND eventtime >= '2024-03-11 00:00:00'
  AND eventtime <= '2024-03-12 23:59:59'
ORDER BY eventtime, eventid;
