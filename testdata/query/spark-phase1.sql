-- trailhound query, phase 1 (spark): the credential-issuing calls, for the session graph
CREATE OR REPLACE TEMPORARY VIEW `cloudtrail_logs_files` USING text OPTIONS (path 's3a://amzn-s3-demo-bucket/AWSLogs/', wholetext 'true', recursiveFileLookup 'true');
CREATE OR REPLACE TEMPORARY VIEW `cloudtrail_logs` AS
WITH records AS (
  SELECT explode(from_json(value, 'Records ARRAY<STRING>').Records) AS r
  FROM `cloudtrail_logs_files`
)
SELECT
  get_json_object(r, '$.eventVersion') AS eventversion,
  named_struct('type', get_json_object(r, '$.userIdentity.type'), 'principalid', get_json_object(r, '$.userIdentity.principalId'), 'arn', get_json_object(r, '$.userIdentity.arn'), 'accountid', get_json_object(r, '$.userIdentity.accountId'), 'invokedby', get_json_object(r, '$.userIdentity.invokedBy'), 'accesskeyid', get_json_object(r, '$.userIdentity.accessKeyId'), 'username', get_json_object(r, '$.userIdentity.userName'), 'identityprovider', get_json_object(r, '$.userIdentity.identityProvider'), 'sessioncontext', named_struct('attributes', named_struct('mfaauthenticated', get_json_object(r, '$.userIdentity.sessionContext.attributes.mfaAuthenticated'), 'creationdate', get_json_object(r, '$.userIdentity.sessionContext.attributes.creationDate')), 'sessionissuer', named_struct('type', get_json_object(r, '$.userIdentity.sessionContext.sessionIssuer.type'), 'principalid', get_json_object(r, '$.userIdentity.sessionContext.sessionIssuer.principalId'), 'arn', get_json_object(r, '$.userIdentity.sessionContext.sessionIssuer.arn'), 'accountid', get_json_object(r, '$.userIdentity.sessionContext.sessionIssuer.accountId'), 'username', get_json_object(r, '$.userIdentity.sessionContext.sessionIssuer.userName')), 'ec2roledelivery', get_json_object(r, '$.userIdentity.sessionContext.ec2RoleDelivery'), 'sourceidentity', get_json_object(r, '$.userIdentity.sessionContext.sourceIdentity'), 'webidfederationdata', named_struct('federatedprovider', get_json_object(r, '$.userIdentity.sessionContext.webIdFederationData.federatedProvider')))) AS useridentity,
  get_json_object(r, '$.eventTime') AS eventtime,
  get_json_object(r, '$.eventSource') AS eventsource,
  get_json_object(r, '$.eventName') AS eventname,
  get_json_object(r, '$.awsRegion') AS awsregion,
  get_json_object(r, '$.sourceIPAddress') AS sourceipaddress,
  get_json_object(r, '$.userAgent') AS useragent,
  get_json_object(r, '$.errorCode') AS errorcode,
  get_json_object(r, '$.errorMessage') AS errormessage,
  get_json_object(r, '$.requestParameters') AS requestparameters,
  get_json_object(r, '$.responseElements') AS responseelements,
  get_json_object(r, '$.requestID') AS requestid,
  get_json_object(r, '$.eventID') AS eventid,
  get_json_object(r, '$.readOnly') AS readonly,
  get_json_object(r, '$.eventType') AS eventtype,
  get_json_object(r, '$.eventCategory') AS eventcategory,
  get_json_object(r, '$.managementEvent') AS managementevent,
  get_json_object(r, '$.recipientAccountId') AS recipientaccountid,
  get_json_object(r, '$.sharedEventID') AS sharedeventid,
  get_json_object(r, '$.sessionCredentialFromConsole') AS sessioncredentialfromconsole,
  transform(from_json(get_json_object(r, '$.resources'), 'ARRAY<STRUCT<ARN: STRING, accountId: STRING, type: STRING>>'), x -> named_struct('arn', x.ARN, 'accountid', x.accountId, 'type', x.type)) AS resources
FROM records;
INSERT OVERWRITE DIRECTORY 's3a://amzn-s3-demo-bucket/trailhound/phase1' USING json
SELECT
  eventversion AS `eventversion`,
  eventtime AS `eventtime`,
  eventsource AS `eventsource`,
  eventname AS `eventname`,
  awsregion AS `awsregion`,
  sourceipaddress AS `sourceipaddress`,
  useragent AS `useragent`,
  errorcode AS `errorcode`,
  errormessage AS `errormessage`,
  requestparameters AS `requestparameters`,
  responseelements AS `responseelements`,
  requestid AS `requestid`,
  eventid AS `eventid`,
  readonly AS `readonly`,
  eventtype AS `eventtype`,
  eventcategory AS `eventcategory`,
  managementevent AS `managementevent`,
  recipientaccountid AS `recipientaccountid`,
  sharedeventid AS `sharedeventid`,
  sessioncredentialfromconsole AS `sessioncredentialfromconsole`,
  to_json(transform(resources, x -> map('ARN', x.arn, 'accountId', x.accountid, 'type', x.type))) AS `resources`,
  useridentity.type AS `useridentity_type`,
  useridentity.principalid AS `useridentity_principalid`,
  useridentity.arn AS `useridentity_arn`,
  useridentity.accountid AS `useridentity_accountid`,
  useridentity.accesskeyid AS `useridentity_accesskeyid`,
  useridentity.username AS `useridentity_username`,
  useridentity.invokedby AS `useridentity_invokedby`,
  useridentity.identityprovider AS `useridentity_identityprovider`,
  useridentity.sessioncontext.sessionissuer.type AS `sessionissuer_type`,
  useridentity.sessioncontext.sessionissuer.principalid AS `sessionissuer_principalid`,
  useridentity.sessioncontext.sessionissuer.arn AS `sessionissuer_arn`,
  useridentity.sessioncontext.sessionissuer.accountid AS `sessionissuer_accountid`,
  useridentity.sessioncontext.sessionissuer.username AS `sessionissuer_username`,
  useridentity.sessioncontext.attributes.creationdate AS `session_creationdate`,
  useridentity.sessioncontext.attributes.mfaauthenticated AS `session_mfaauthenticated`,
  useridentity.sessioncontext.sourceidentity AS `session_sourceidentity`,
  useridentity.sessioncontext.webidfederationdata.federatedprovider AS `session_federatedprovider`,
  useridentity.sessioncontext.ec2roledelivery AS `session_ec2roledelivery`
FROM `cloudtrail_logs`
WHERE eventname IN ('AssumeRole', 'AssumeRoleWithSAML', 'AssumeRoleWithWebIdentity', 'GetSessionToken', 'GetFederationToken', 'AssumeRoot', 'CreateAccessKey', 'CreateUser', 'CreateLoginProfile', 'UpdateLoginProfile', 'CreateRole', 'UpdateAssumeRolePolicy', 'RunInstances', 'CreateFunction20150331', 'CreateFunction', 'UpdateFunctionCode20150331v2', 'UpdateFunctionCode20150331', 'UpdateFunctionCode', 'UpdateFunctionConfiguration20150331v2', 'UpdateFunctionConfiguration20150331', 'UpdateFunctionConfiguration', 'UpdateSAMLProvider', 'CreateSAMLProvider', 'UpdateUser', 'DeleteUser', 'DeleteRole', 'GetSigninToken', 'GetOpenIdTokenForDeveloperIdentity', 'ConsoleLogin')
  AND eventtime >= '2024-03-11T00:00:00Z'
  AND eventtime <= '2024-03-12T23:59:59Z'
ORDER BY eventtime, eventid;
