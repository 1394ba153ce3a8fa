-- trailhound query, phase 3 (athena): the first and last events of each account, for the evidence window
SELECT
  eventversion AS "eventversion",
  eventtime AS "eventtime",
  eventsource AS "eventsource",
  eventname AS "eventname",
  awsregion AS "awsregion",
  sourceipaddress AS "sourceipaddress",
  useragent AS "useragent",
  errorcode AS "errorcode",
  errormessage AS "errormessage",
  requestparameters AS "requestparameters",
  responseelements AS "responseelements",
  requestid AS "requestid",
  eventid AS "eventid",
  readonly AS "readonly",
  eventtype AS "eventtype",
  eventcategory AS "eventcategory",
  CAST(NULL AS VARCHAR) AS "managementevent",
  recipientaccountid AS "recipientaccountid",
  sharedeventid AS "sharedeventid",
  sessioncredentialfromconsole AS "sessioncredentialfromconsole",
  json_format(CAST(transform(resources, x -> MAP(ARRAY['ARN', 'accountId', 'type'], ARRAY[x.arn, x.accountid, x.type])) AS JSON)) AS "resources",
  useridentity.type AS "useridentity_type",
  useridentity.principalid AS "useridentity_principalid",
  useridentity.arn AS "useridentity_arn",
  useridentity.accountid AS "useridentity_accountid",
  useridentity.accesskeyid AS "useridentity_accesskeyid",
  useridentity.username AS "useridentity_username",
  useridentity.invokedby AS "useridentity_invokedby",
  CAST(NULL AS VARCHAR) AS "useridentity_identityprovider",
  useridentity.sessioncontext.sessionissuer.type AS "sessionissuer_type",
  useridentity.sessioncontext.sessionissuer.principalid AS "sessionissuer_principalid",
  useridentity.sessioncontext.sessionissuer.arn AS "sessionissuer_arn",
  useridentity.sessioncontext.sessionissuer.accountid AS "sessionissuer_accountid",
  useridentity.sessioncontext.sessionissuer.username AS "sessionissuer_username",
  useridentity.sessioncontext.attributes.creationdate AS "session_creationdate",
  useridentity.sessioncontext.attributes.mfaauthenticated AS "session_mfaauthenticated",
  CAST(NULL AS VARCHAR) AS "session_sourceidentity",
  useridentity.sessioncontext.webidfederationdata.federatedprovider AS "session_federatedprovider",
  useridentity.sessioncontext.ec2roledelivery AS "session_ec2roledelivery"
FROM "cloudtrail_logs_pp"
JOIN (
  SELECT COALESCE(recipientaccountid, useridentity.accountid) AS end_account, min(eventtime) AS end_first, max(eventtime) AS end_last
  FROM "cloudtrail_logs_pp"
  WHERE eventtime >= '2024-03-11T00:00:00Z' AND eventtime <= '2024-03-12T23:59:59Z' AND "timestamp" >= '2024/03/11' AND "timestamp" <= '2024/03/12'
  GROUP BY COALESCE(recipientaccountid, useridentity.accountid)
) ends ON COALESCE(recipientaccountid, useridentity.accountid) = ends.end_account AND (eventtime = ends.end_first OR eventtime = ends.end_last)
WHERE eventtime >= '2024-03-11T00:00:00Z' AND eventtime <= '2024-03-12T23:59:59Z' AND "timestamp" >= '2024/03/11' AND "timestamp" <= '2024/03/12'
ORDER BY eventtime, eventid;
