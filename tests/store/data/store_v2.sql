-- A schema-2 results store as gitgrid wrote it before issue 19 (runs without identity, recipe or key):
-- sweep 'v2' of tests/helpers.SPEC, run with SIM_FAIL=4 and --where 'b != 40', then --rerun --where 'a == 1.5'.
-- @BASE@, @C<i>@ (commit of point i), @S<i>@ (its 12-character prefix) and @REPO@ are filled in by the test.
PRAGMA user_version=2;
BEGIN TRANSACTION;
CREATE TABLE job_points (
    job_id TEXT NOT NULL, task INTEGER NOT NULL, sweep TEXT NOT NULL, idx INTEGER NOT NULL
);
CREATE TABLE jobs (
    job_id TEXT NOT NULL, scheduler TEXT NOT NULL, sweep TEXT NOT NULL, submission TEXT NOT NULL,
    tasks INTEGER NOT NULL, chunk INTEGER NOT NULL, submitted REAL NOT NULL, cancelled INTEGER DEFAULT 0,
    PRIMARY KEY (scheduler, job_id)
);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, name TEXT NOT NULL, value REAL,
    text TEXT, PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
INSERT INTO "metrics" VALUES(1,'loss',15.0,'15.0');
INSERT INTO "metrics" VALUES(1,'rate',11.5,'11.5');
INSERT INTO "metrics" VALUES(2,'loss',30.0,'30.0');
INSERT INTO "metrics" VALUES(2,'rate',21.5,'21.5');
INSERT INTO "metrics" VALUES(3,'loss',45.0,'45.0');
INSERT INTO "metrics" VALUES(3,'rate',31.5,'31.5');
INSERT INTO "metrics" VALUES(5,'loss',50.0,'50.0');
INSERT INTO "metrics" VALUES(5,'rate',22.5,'22.5');
INSERT INTO "metrics" VALUES(6,'loss',75.0,'75.0');
INSERT INTO "metrics" VALUES(6,'rate',32.5,'32.5');
INSERT INTO "metrics" VALUES(7,'loss',35.0,'35.0');
INSERT INTO "metrics" VALUES(7,'rate',13.5,'13.5');
INSERT INTO "metrics" VALUES(8,'loss',70.0,'70.0');
INSERT INTO "metrics" VALUES(8,'rate',23.5,'23.5');
INSERT INTO "metrics" VALUES(9,'loss',105.0,'105.0');
INSERT INTO "metrics" VALUES(9,'rate',33.5,'33.5');
INSERT INTO "metrics" VALUES(10,'loss',15.0,'15.0');
INSERT INTO "metrics" VALUES(10,'rate',11.5,'11.5');
INSERT INTO "metrics" VALUES(11,'loss',30.0,'30.0');
INSERT INTO "metrics" VALUES(11,'rate',21.5,'21.5');
INSERT INTO "metrics" VALUES(12,'loss',45.0,'45.0');
INSERT INTO "metrics" VALUES(12,'rate',31.5,'31.5');
INSERT INTO "metrics" VALUES(13,'loss',60.0,'60.0');
INSERT INTO "metrics" VALUES(13,'rate',41.5,'41.5');
CREATE TABLE pending (
    run_dir TEXT PRIMARY KEY, sweep TEXT NOT NULL, idx INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE point_metrics (
    sweep TEXT NOT NULL, idx INTEGER NOT NULL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (sweep, idx, name)
) WITHOUT ROWID;
INSERT INTO "point_metrics" VALUES('v2',0,'loss',15.0);
INSERT INTO "point_metrics" VALUES('v2',1,'loss',30.0);
INSERT INTO "point_metrics" VALUES('v2',8,'loss',35.0);
INSERT INTO "point_metrics" VALUES('v2',2,'loss',45.0);
INSERT INTO "point_metrics" VALUES('v2',5,'loss',50.0);
INSERT INTO "point_metrics" VALUES('v2',3,'loss',60.0);
INSERT INTO "point_metrics" VALUES('v2',9,'loss',70.0);
INSERT INTO "point_metrics" VALUES('v2',6,'loss',75.0);
INSERT INTO "point_metrics" VALUES('v2',10,'loss',105.0);
INSERT INTO "point_metrics" VALUES('v2',0,'rate',11.5);
INSERT INTO "point_metrics" VALUES('v2',8,'rate',13.5);
INSERT INTO "point_metrics" VALUES('v2',1,'rate',21.5);
INSERT INTO "point_metrics" VALUES('v2',5,'rate',22.5);
INSERT INTO "point_metrics" VALUES('v2',9,'rate',23.5);
INSERT INTO "point_metrics" VALUES('v2',2,'rate',31.5);
INSERT INTO "point_metrics" VALUES('v2',6,'rate',32.5);
INSERT INTO "point_metrics" VALUES('v2',10,'rate',33.5);
INSERT INTO "point_metrics" VALUES('v2',3,'rate',41.5);
CREATE TABLE points (
    sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL, params TEXT NOT NULL,
    csv TEXT NOT NULL, tsv TEXT NOT NULL, latest_run INTEGER, success_run INTEGER, state TEXT, "a", "b",
    PRIMARY KEY (sweep, idx)
);
INSERT INTO "points" VALUES('v2',0,'@C0@','{"a":1.5,"b":10}','1.5,10','1.5	10',10,10,'success',1.5,10);
INSERT INTO "points" VALUES('v2',1,'@C1@','{"a":1.5,"b":20}','1.5,20','1.5	20',11,11,'success',1.5,20);
INSERT INTO "points" VALUES('v2',2,'@C2@','{"a":1.5,"b":30}','1.5,30','1.5	30',12,12,'success',1.5,30);
INSERT INTO "points" VALUES('v2',3,'@C3@','{"a":1.5,"b":40}','1.5,40','1.5	40',13,13,'success',1.5,40);
INSERT INTO "points" VALUES('v2',4,'@C4@','{"a":2.5,"b":10}','2.5,10','2.5	10',4,NULL,'failed',2.5,10);
INSERT INTO "points" VALUES('v2',5,'@C5@','{"a":2.5,"b":20}','2.5,20','2.5	20',5,5,'success',2.5,20);
INSERT INTO "points" VALUES('v2',6,'@C6@','{"a":2.5,"b":30}','2.5,30','2.5	30',6,6,'success',2.5,30);
INSERT INTO "points" VALUES('v2',7,'@C7@','{"a":2.5,"b":40}','2.5,40','2.5	40',NULL,NULL,NULL,2.5,40);
INSERT INTO "points" VALUES('v2',8,'@C8@','{"a":3.5,"b":10}','3.5,10','3.5	10',7,7,'success',3.5,10);
INSERT INTO "points" VALUES('v2',9,'@C9@','{"a":3.5,"b":20}','3.5,20','3.5	20',8,8,'success',3.5,20);
INSERT INTO "points" VALUES('v2',10,'@C10@','{"a":3.5,"b":30}','3.5,30','3.5	30',9,9,'success',3.5,30);
INSERT INTO "points" VALUES('v2',11,'@C11@','{"a":3.5,"b":40}','3.5,40','3.5	40',NULL,NULL,NULL,3.5,40);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, rerun INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    exit_code INTEGER, reason TEXT, started REAL, ended REAL, duration REAL, host TEXT, run_dir TEXT,
    pid INTEGER, job TEXT, duration_text TEXT, metric_names TEXT, metric_texts TEXT
);
INSERT INTO "runs" VALUES(1,'v2',0,'@C0@',1,0,'success',0,NULL,1.79661305671784067147e+09,1.79661305699676775932e+09,2.78927087783813476562e-01,'vm','@REPO@/.gitgrid/runs/v2/00000-@S0@/attempt-1',9186,NULL,'0.279','["loss", "rate"]','15.0,11.5');
INSERT INTO "runs" VALUES(2,'v2',1,'@C1@',1,0,'success',0,NULL,1.7966130567186956406e+09,1.79661305716586232189e+09,4.47166681289672851562e-01,'vm','@REPO@/.gitgrid/runs/v2/00001-@S1@/attempt-1',9190,NULL,'0.447','["loss", "rate"]','30.0,21.5');
INSERT INTO "runs" VALUES(3,'v2',2,'@C2@',1,0,'success',0,NULL,1.79661305699853134153e+09,1.79661305746603488925e+09,4.6750354766845703125e-01,'vm','@REPO@/.gitgrid/runs/v2/00002-@S2@/attempt-1',9212,NULL,'0.468','["loss", "rate"]','45.0,31.5');
INSERT INTO "runs" VALUES(4,'v2',4,'@C4@',1,0,'failed',3,'exit status 3',1.79661305716729164123e+09,1.79661305759359431265e+09,4.26302671432495117187e-01,'vm','@REPO@/.gitgrid/runs/v2/00004-@S4@/attempt-1',9225,NULL,'0.426','[]','');
INSERT INTO "runs" VALUES(5,'v2',5,'@C5@',1,0,'success',0,NULL,1.79661305746986174579e+09,1.79661305787889528278e+09,4.09033536911010742187e-01,'vm','@REPO@/.gitgrid/runs/v2/00005-@S5@/attempt-1',9246,NULL,'0.409','["loss", "rate"]','50.0,22.5');
INSERT INTO "runs" VALUES(6,'v2',6,'@C6@',1,0,'success',0,NULL,1.7966130575949578285e+09,1.79661305801780796049e+09,4.22850131988525390625e-01,'vm','@REPO@/.gitgrid/runs/v2/00006-@S6@/attempt-1',9259,NULL,'0.423','["loss", "rate"]','75.0,32.5');
INSERT INTO "runs" VALUES(7,'v2',8,'@C8@',1,0,'success',0,NULL,1.79661305788009929658e+09,1.79661305826997804639e+09,3.89878749847412109375e-01,'vm','@REPO@/.gitgrid/runs/v2/00008-@S8@/attempt-1',9282,NULL,'0.39','["loss", "rate"]','35.0,13.5');
INSERT INTO "runs" VALUES(8,'v2',9,'@C9@',1,0,'success',0,NULL,1.79661305804715776442e+09,1.7966130585058407783e+09,4.58683013916015625e-01,'vm','@REPO@/.gitgrid/runs/v2/00009-@S9@/attempt-1',9293,NULL,'0.459','["loss", "rate"]','70.0,23.5');
INSERT INTO "runs" VALUES(9,'v2',10,'@C10@',1,0,'success',0,NULL,1.7966130582835235595e+09,1.79661305864841318131e+09,3.64889621734619140625e-01,'vm','@REPO@/.gitgrid/runs/v2/00010-@S10@/attempt-1',9314,NULL,'0.365','["loss", "rate"]','105.0,33.5');
INSERT INTO "runs" VALUES(10,'v2',0,'@C0@',2,1,'success',0,NULL,1.79661305890375852588e+09,1.79661305932051157951e+09,4.16753053665161132812e-01,'vm','@REPO@/.gitgrid/runs/v2/00000-@S0@/attempt-2',9382,NULL,'0.417','["loss", "rate"]','15.0,11.5');
INSERT INTO "runs" VALUES(11,'v2',1,'@C1@',2,1,'success',0,NULL,1.7966130593220214843e+09,1.79661305948385405543e+09,1.61832571029663085937e-01,'vm','@REPO@/.gitgrid/runs/v2/00001-@S1@/attempt-2',9452,NULL,'0.162','["loss", "rate"]','30.0,21.5');
INSERT INTO "runs" VALUES(12,'v2',2,'@C2@',2,1,'success',0,NULL,1.7966130594989202022e+09,1.79661305962089109418e+09,1.21970891952514648437e-01,'vm','@REPO@/.gitgrid/runs/v2/00002-@S2@/attempt-2',9470,NULL,'0.122','["loss", "rate"]','45.0,31.5');
INSERT INTO "runs" VALUES(13,'v2',3,'@C3@',1,1,'success',0,NULL,1.79661305962479257583e+09,1.79661305976876330375e+09,1.43970727920532226562e-01,'vm','@REPO@/.gitgrid/runs/v2/00003-@S3@/attempt-1',9483,NULL,'0.144','["loss", "rate"]','60.0,41.5');
CREATE TABLE scans (
    root TEXT NOT NULL, sweep TEXT NOT NULL, mark INTEGER NOT NULL, PRIMARY KEY (root, sweep)
) WITHOUT ROWID;
CREATE TABLE series (
    run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE, name TEXT NOT NULL,
    step INTEGER NOT NULL, value REAL, PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
CREATE TABLE sweep_metrics (
    sweep TEXT NOT NULL, name TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (sweep, name)
) WITHOUT ROWID;
INSERT INTO "sweep_metrics" VALUES('v2','loss',0);
INSERT INTO "sweep_metrics" VALUES('v2','rate',1);
CREATE TABLE sweeps (
    name TEXT PRIMARY KEY, base TEXT NOT NULL, tip TEXT NOT NULL, count INTEGER NOT NULL,
    params TEXT NOT NULL, columns TEXT NOT NULL, kinds TEXT NOT NULL, created TEXT
);
INSERT INTO "sweeps" VALUES('v2','@BASE@','@C11@',12,'["a", "b"]','["a", "b"]','{"a": "num", "b": "num"}','2026-12-07T03:10:56.337668+00:00');
CREATE INDEX points_state ON points (sweep, state);
CREATE INDEX point_metrics_value ON point_metrics (sweep, name, value);
CREATE INDEX runs_point ON runs (sweep, idx, attempt);
CREATE UNIQUE INDEX runs_dir ON runs (run_dir);
CREATE INDEX job_points_point ON job_points (sweep, idx);
CREATE INDEX runs_rerun ON runs (sweep, rerun);
CREATE INDEX runs_open ON runs (sweep) WHERE status = 'running';
CREATE INDEX runs_noted ON runs (sweep, idx) WHERE status = 'success' AND reason IS NOT NULL;
COMMIT;
