-- A schema-1 results store as gitgrid wrote it before issue 9's metric redesign: sweep 'v1' of
-- tests/helpers.SPEC, run with SIM_FAIL=4 and --where 'b != 40', then --rerun --where 'a == 1.5'.
-- @BASE@, @C<i>@ (commit of point i), @S<i>@ (its 12-character prefix) and @REPO@ are filled in by the test.
PRAGMA user_version=1;
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
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
INSERT INTO "metrics" VALUES(1,'loss',15.0);
INSERT INTO "metrics" VALUES(1,'rate',11.5);
INSERT INTO "metrics" VALUES(2,'loss',30.0);
INSERT INTO "metrics" VALUES(2,'rate',21.5);
INSERT INTO "metrics" VALUES(3,'loss',45.0);
INSERT INTO "metrics" VALUES(3,'rate',31.5);
INSERT INTO "metrics" VALUES(5,'loss',50.0);
INSERT INTO "metrics" VALUES(5,'rate',22.5);
INSERT INTO "metrics" VALUES(6,'loss',75.0);
INSERT INTO "metrics" VALUES(6,'rate',32.5);
INSERT INTO "metrics" VALUES(7,'loss',35.0);
INSERT INTO "metrics" VALUES(7,'rate',13.5);
INSERT INTO "metrics" VALUES(8,'loss',70.0);
INSERT INTO "metrics" VALUES(8,'rate',23.5);
INSERT INTO "metrics" VALUES(9,'loss',105.0);
INSERT INTO "metrics" VALUES(9,'rate',33.5);
INSERT INTO "metrics" VALUES(10,'loss',15.0);
INSERT INTO "metrics" VALUES(10,'rate',11.5);
INSERT INTO "metrics" VALUES(11,'loss',30.0);
INSERT INTO "metrics" VALUES(11,'rate',21.5);
INSERT INTO "metrics" VALUES(12,'loss',45.0);
INSERT INTO "metrics" VALUES(12,'rate',31.5);
INSERT INTO "metrics" VALUES(13,'loss',60.0);
INSERT INTO "metrics" VALUES(13,'rate',41.5);
CREATE TABLE points (
    sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL, params TEXT NOT NULL,
    latest_run INTEGER, success_run INTEGER, "a", "b", "m.loss" REAL, "m.rate" REAL,
    PRIMARY KEY (sweep, idx)
);
INSERT INTO "points" VALUES('v1',0,'@C0@','{"a":1.5,"b":10}',10,10,1.5,10,15.0,11.5);
INSERT INTO "points" VALUES('v1',1,'@C1@','{"a":1.5,"b":20}',11,11,1.5,20,30.0,21.5);
INSERT INTO "points" VALUES('v1',2,'@C2@','{"a":1.5,"b":30}',12,12,1.5,30,45.0,31.5);
INSERT INTO "points" VALUES('v1',3,'@C3@','{"a":1.5,"b":40}',13,13,1.5,40,60.0,41.5);
INSERT INTO "points" VALUES('v1',4,'@C4@','{"a":2.5,"b":10}',4,NULL,2.5,10,NULL,NULL);
INSERT INTO "points" VALUES('v1',5,'@C5@','{"a":2.5,"b":20}',5,5,2.5,20,50.0,22.5);
INSERT INTO "points" VALUES('v1',6,'@C6@','{"a":2.5,"b":30}',6,6,2.5,30,75.0,32.5);
INSERT INTO "points" VALUES('v1',7,'@C7@','{"a":2.5,"b":40}',NULL,NULL,2.5,40,NULL,NULL);
INSERT INTO "points" VALUES('v1',8,'@C8@','{"a":3.5,"b":10}',7,7,3.5,10,35.0,13.5);
INSERT INTO "points" VALUES('v1',9,'@C9@','{"a":3.5,"b":20}',8,8,3.5,20,70.0,23.5);
INSERT INTO "points" VALUES('v1',10,'@C10@','{"a":3.5,"b":30}',9,9,3.5,30,105.0,33.5);
INSERT INTO "points" VALUES('v1',11,'@C11@','{"a":3.5,"b":40}',NULL,NULL,3.5,40,NULL,NULL);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, sweep TEXT NOT NULL, idx INTEGER NOT NULL, commit_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, rerun INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    exit_code INTEGER, reason TEXT, started REAL, ended REAL, duration REAL, host TEXT, run_dir TEXT,
    pid INTEGER, job TEXT
);
INSERT INTO "runs" VALUES(1,'v1',0,'@C0@',1,0,'success',0,NULL,1.79592868546743226055e+09,1.79592868551070904735e+09,4.327678680419921875e-02,'vm','@REPO@/.gitgrid/runs/v1/00000-@S0@/attempt-1',8715,NULL);
INSERT INTO "runs" VALUES(2,'v1',1,'@C1@',1,0,'success',0,NULL,1.7959286855117838383e+09,1.79592868555883312226e+09,4.70492839813232421875e-02,'vm','@REPO@/.gitgrid/runs/v1/00001-@S1@/attempt-1',8717,NULL);
INSERT INTO "runs" VALUES(3,'v1',2,'@C2@',1,0,'success',0,NULL,1.79592868555954575534e+09,1.79592868560262084007e+09,0.0430750846862793,'vm','@REPO@/.gitgrid/runs/v1/00002-@S2@/attempt-1',8719,NULL);
INSERT INTO "runs" VALUES(4,'v1',4,'@C4@',1,0,'failed',3,'exit status 3',1.7959286856032094955e+09,1.79592868564648628238e+09,4.327678680419921875e-02,'vm','@REPO@/.gitgrid/runs/v1/00004-@S4@/attempt-1',8721,NULL);
INSERT INTO "runs" VALUES(5,'v1',5,'@C5@',1,0,'success',0,NULL,1.7959286856471352577e+09,1.79592868568490934364e+09,3.777408599853515625e-02,'vm','@REPO@/.gitgrid/runs/v1/00005-@S5@/attempt-1',8723,NULL);
INSERT INTO "runs" VALUES(6,'v1',6,'@C6@',1,0,'success',0,NULL,1.79592868568548059459e+09,1.79592868572661447518e+09,4.1133880615234375e-02,'vm','@REPO@/.gitgrid/runs/v1/00006-@S6@/attempt-1',8725,NULL);
INSERT INTO "runs" VALUES(7,'v1',8,'@C8@',1,0,'success',0,NULL,1.79592868572718048101e+09,1.79592868576670050616e+09,0.0395200252532959,'vm','@REPO@/.gitgrid/runs/v1/00008-@S8@/attempt-1',8731,NULL);
INSERT INTO "runs" VALUES(8,'v1',9,'@C9@',1,0,'success',0,NULL,1.795928685767260313e+09,1.79592868581915473939e+09,5.18944263458251953125e-02,'vm','@REPO@/.gitgrid/runs/v1/00009-@S9@/attempt-1',8738,NULL);
INSERT INTO "runs" VALUES(9,'v1',10,'@C10@',1,0,'success',0,NULL,1.79592868581968379015e+09,1.79592868585858798022e+09,3.89041900634765625e-02,'vm','@REPO@/.gitgrid/runs/v1/00010-@S10@/attempt-1',8744,NULL);
INSERT INTO "runs" VALUES(10,'v1',0,'@C0@',2,1,'success',0,NULL,1.79592868591491055486e+09,1.79592868595858645439e+09,4.3675899505615234375e-02,'vm','@REPO@/.gitgrid/runs/v1/00000-@S0@/attempt-2',8755,NULL);
INSERT INTO "runs" VALUES(11,'v1',1,'@C1@',2,1,'success',0,NULL,1.79592868595916318888e+09,1.79592868600263023373e+09,4.3467044830322265625e-02,'vm','@REPO@/.gitgrid/runs/v1/00001-@S1@/attempt-2',8757,NULL);
INSERT INTO "runs" VALUES(12,'v1',2,'@C2@',2,1,'success',0,NULL,1.79592868600313091279e+09,1.79592868604659485821e+09,4.34639453887939453125e-02,'vm','@REPO@/.gitgrid/runs/v1/00002-@S2@/attempt-2',8759,NULL);
INSERT INTO "runs" VALUES(13,'v1',3,'@C3@',1,1,'success',0,NULL,1.79592868604714584346e+09,1.7959286860865783692e+09,3.9432525634765625e-02,'vm','@REPO@/.gitgrid/runs/v1/00003-@S3@/attempt-1',8761,NULL);
CREATE TABLE sweep_metrics (
    sweep TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (sweep, name)
) WITHOUT ROWID;
INSERT INTO "sweep_metrics" VALUES('v1','loss');
INSERT INTO "sweep_metrics" VALUES('v1','rate');
CREATE TABLE sweeps (
    name TEXT PRIMARY KEY, base TEXT NOT NULL, tip TEXT NOT NULL, count INTEGER NOT NULL,
    params TEXT NOT NULL, created TEXT
);
INSERT INTO "sweeps" VALUES('v1','@BASE@','@C11@',12,'["a", "b"]','2026-11-29T05:04:45.401069+00:00');
CREATE INDEX job_points_point ON job_points (sweep, idx);
CREATE INDEX runs_point ON runs (sweep, idx, attempt);
CREATE UNIQUE INDEX runs_dir ON runs (run_dir);
COMMIT;

