-- trailhound query, phase 2 (athena): the events of 13 tainted access key id(s), 2 user(s) the attacker controls or a tainted credential acts as and 8 session ARN pattern(s) (tainted sessions, the sessions of roles whose trust policy the attacker set and of what a tainted key launched or changed)
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
WHERE (useridentity.accesskeyid IN ('AKIAIOSFODNN7EXAMPLE', 'AKIAYZ43I2OT25JVNEE4', 'AKIAYZ43I2OTVGMVNPHZ', 'ASIAGJ6MTRIP23KULQMR', 'ASIAGJ6MTRIPST674M46', 'ASIAYZ43I2OT6PQRNXOM', 'ASIAYZ43I2OTDCLKYLEX', 'ASIAYZ43I2OTGBIV2BB6', 'ASIAYZ43I2OTLPTEXYEH', 'ASIAYZ43I2OTMQA2LAEE', 'ASIAYZ43I2OTVS2NZJY5', 'ASIAYZ43I2OTWDYGALDZ', 'ASIAYZ43I2OTZHXAWFBS')
    OR lower(useridentity.arn) LIKE 'arn:aws%:iam::111122223333:user/%backup-admin'
    OR lower(useridentity.arn) LIKE 'arn:aws%:iam::111122223333:user/%ci-deployer'
    OR lower(useridentity.arn) LIKE 'arn:aws%:sts::111122223333:assumed-role/%/orders-api%'
    OR lower(useridentity.arn) LIKE 'arn:aws%:sts::111122223333:assumed-role/maintenancerole/%'
    OR lower(useridentity.arn) LIKE 'arn:aws:sts::111122223333:assumed-role/adminrole/ci%'
    OR lower(useridentity.arn) LIKE 'arn:aws:sts::111122223333:assumed-role/deployrole/ci-short%'
    OR lower(useridentity.arn) LIKE 'arn:aws:sts::111122223333:assumed-role/orders-api-exec-role/orders-api%'
    OR lower(useridentity.arn) LIKE 'arn:aws:sts::111122223333:federated-user/contractor%'
    OR lower(useridentity.arn) LIKE 'arn:aws:sts::444455556666:assumed-role/crossaccountaudit/audit%'
    OR lower(useridentity.arn) LIKE 'arn:aws:sts::444455556666:assumed-role/datareader/reader%')
  AND eventtime >= '2024-03-11T00:00:00Z'
  AND eventtime <= '2024-03-12T23:59:59Z'
  AND "timestamp" >= '2024/03/11'
  AND "timestamp" <= '2024/03/12'
ORDER BY eventtime, eventid;
