-- trailhound query, phase 2 (lake): the events of 13 tainted access key id(s), 2 user(s) the attacker controls or a tainted credential acts as and 8 session ARN pattern(s) (tainted sessions, the sessions of roles whose trust policy the attacker set and of what a tainted key launched or changed)
SELECT eventtime, eventid, eventname, eventjson
FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE
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
  AND eventtime >= '2024-03-11 00:00:00'
  AND eventtime <= '2024-03-12 23:59:59'
ORDER BY eventtime, eventid;
