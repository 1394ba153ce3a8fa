-- trailhound query, phase 3 (lake): the first and last events of each account, for the evidence window
SELECT min(eventtime) AS eventtime, min_by(eventjson, eventtime) AS eventjson
FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE
WHERE eventtime >= '2024-03-11 00:00:00' AND eventtime <= '2024-03-12 23:59:59'
GROUP BY COALESCE(recipientaccountid, useridentity.accountid)
UNION ALL
SELECT max(eventtime) AS eventtime, max_by(eventjson, eventtime) AS eventjson
FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE
WHERE eventtime >= '2024-03-11 00:00:00' AND eventtime <= '2024-03-12 23:59:59'
GROUP BY COALESCE(recipientaccountid, useridentity.accountid);
