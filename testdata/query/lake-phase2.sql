-- trailhound query, phase 2 (lake): the events of 13 tainted access key id(s), 1 attacker-controlled user(s) and the sessions of 1 role(s) whose trust policy the attacker set
SELECT eventtime, eventid, eventname, eventjson
FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE
WHERE (useridentity.accesskeyid IN ('AKIAIOSFODNN7EXAMPLE', 'AKIAYZ43I2OT25JVNEE4', 'AKIAYZ43I2OTVGMVNPHZ', 'ASIAGJ6MTRIP23KULQMR', 'ASIAGJ6MTRIPST674M46', 'ASIAYZ43I2OT6PQRNXOM', 'ASIAYZ43I2OTDCLKYLEX', 'ASIAYZ43I2OTGBIV2BB6', 'ASIAYZ43I2OTLPTEXYEH', 'ASIAYZ43I2OTMQA2LAEE', 'ASIAYZ43I2OTVS2NZJY5', 'ASIAYZ43I2OTWDYGALDZ', 'ASIAYZ43I2OTZHXAWFBS')
    OR useridentity.arn IN ('arn:aws:iam::111122223333:user/backup-admin')
    OR lower(useridentity.arn) LIKE 'arn:aws%:sts::111122223333:assumed-role/maintenancerole/%')
  AND eventtime >= '2024-03-11 00:00:00'
  AND eventtime <= '2024-03-12 23:59:59'
ORDER BY eventtime, eventid;
