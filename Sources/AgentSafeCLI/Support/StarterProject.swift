/// The files `agent-safe init` writes: a small project that validates, lints clean and passes its tests.
enum StarterProject {
    static let files: [(String, String)] = [
        ("agent-safe.yaml", """
            # Agent-Safe project configuration. Paths are relative to this file.
            registry: actions
            policies: policies
            inventory: inventory.yaml
            audit_log: .agent-safe/audit.jsonl

            """),
        (".gitignore", """
            .agent-safe/
            keys/

            """),
        ("actions/restart-deployment.yaml", """
            name: restart-deployment
            version: "1.0.0"
            description: Rolling restart of a Kubernetes deployment.
            parameters:
              - name: namespace
                type: string
                description: Namespace of the deployment
                constraints:
                  max_length: 63
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
              - name: deployment
                type: string
                description: Name of the deployment
                constraints:
                  max_length: 253
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
            risk_class: medium
            target_types: [k8s-deployment]
            prechecks:
              - name: deployment-exists
                description: The deployment exists
            reversible: false
            required_privileges: ["apps/deployments:get", "apps/deployments:patch"]
            tags: [kubernetes, deployment]
            credentials:
              type: kubernetes
              fields:
                verbs: [get, patch]
                resources: [deployments]
                namespaces: ["{{ params.namespace }}"]
                api_groups: [apps]
              ttl: 300
            state_fields:
              - name: generation
                type: integer
                description: Deployment generation

            """),
        ("actions/scale-deployment.yaml", """
            name: scale-deployment
            version: "1.0.0"
            description: Scale a Kubernetes deployment to a replica count.
            parameters:
              - name: namespace
                type: string
                description: Namespace of the deployment
                constraints:
                  max_length: 63
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
              - name: deployment
                type: string
                description: Name of the deployment
                constraints:
                  max_length: 253
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
              - name: replicas
                type: integer
                description: Target replica count
                constraints:
                  min_value: 0
                  max_value: 50
            risk_class: medium
            target_types: [k8s-deployment]
            prechecks:
              - name: deployment-exists
                description: The deployment exists
            reversible: true
            rollback_action: scale-deployment
            rollback_params:
              namespace: {source: params.namespace}
              deployment: {source: params.deployment}
              replicas: {source: before_state.replicas}
            required_privileges: ["apps/deployments/scale:patch"]
            tags: [kubernetes, deployment, scaling]
            credentials:
              type: kubernetes
              fields:
                verbs: [get, patch]
                resources: [deployments, deployments/scale]
                namespaces: ["{{ params.namespace }}"]
                api_groups: [apps]
              ttl: 300
            state_fields:
              - name: replicas
                type: integer
                description: Replica count
                required: true
            risk_modifiers:
              - when:
                  replicas: {equals: 0}
                raise: 1
                reason: Scaling to zero takes the workload offline

            """),
        ("actions/get-pod-logs.yaml", """
            name: get-pod-logs
            version: "1.0.0"
            description: Read recent log lines of a pod.
            parameters:
              - name: namespace
                type: string
                description: Namespace of the pod
                constraints:
                  max_length: 63
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
              - name: pod
                type: string
                description: Name of the pod
                constraints:
                  max_length: 253
                  pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
              - name: tail_lines
                type: integer
                required: false
                default: 100
                description: How many recent lines
                constraints:
                  min_value: 1
                  max_value: 5000
            risk_class: low
            target_types: [k8s-pod, k8s-deployment]
            prechecks:
              - name: pod-exists
                description: The pod exists
            reversible: false
            tags: [kubernetes, pod, read-only]

            """),
        ("inventory.yaml", """
            targets:
              - id: dev/web
                type: k8s-deployment
                environment: dev
                sensitivity: public
                owner: web-team
              - id: staging/web
                type: k8s-deployment
                environment: staging
                sensitivity: internal
                owner: web-team
              - id: prod/web
                type: k8s-deployment
                environment: prod
                sensitivity: restricted
                owner: web-team

            """),
        ("policies/default.yaml", """
            # Highest priority first; the first matching rule decides; no match means deny.
            rules:
              - name: approve-critical
                description: Anything whose effective risk is critical needs a human
                priority: 1000
                match:
                  risk_classes: [critical]
                decision: require_approval
                reason: Critical-risk actions require human approval

              - name: approve-prod
                priority: 500
                match:
                  targets: {environments: [prod]}
                  callers: {roles: [deployer]}
                decision: require_approval
                reason: Production changes by deployers require approval

              - name: allow-reads
                priority: 200
                match:
                  actions: [get-pod-logs]
                  targets: {environments: [dev, staging]}
                  callers: {}
                decision: allow
                reason: Reading logs outside production is safe for identified agents

              - name: allow-dev
                priority: 10
                match:
                  targets: {environments: [dev]}
                  callers: {}
                decision: allow
                reason: Identified agents may act on dev

            """),
        ("policies/tests/smoke.yaml", """
            tests:
              - name: dev-restart-allowed
                action: restart-deployment
                target: dev/web
                caller: my-agent
                params: {namespace: web, deployment: web}
                expect: allow
                expect_policy: allow-dev

              - name: anonymous-denied
                action: restart-deployment
                target: dev/web
                params: {namespace: web, deployment: web}
                expect: deny

              - name: prod-deployer-needs-approval
                action: scale-deployment
                target: prod/web
                caller: {agent_id: deploy-bot, roles: [deployer]}
                params: {namespace: web, deployment: web, replicas: 3}
                expect: require_approval

              - name: replicas-out-of-range-denied
                action: scale-deployment
                target: dev/web
                caller: my-agent
                params: {namespace: web, deployment: web, replicas: 1000}
                expect: deny

              - name: staging-logs-allowed
                action: get-pod-logs
                target: staging/web
                caller: my-agent
                params: {namespace: web, pod: web-1}
                expect: allow
                expect_policy: allow-reads

            """),
    ]
}
